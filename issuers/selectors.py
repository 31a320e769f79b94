"""Reads for issuers, and the signed-in person with their roles (me/)."""

from typing import Any

from django.db.models import QuerySet

from bondplatform.actors import Actor
from bondplatform.errors import NotFound
from issuers import gates
from issuers.gates import is_staff
from issuers.models import Issuer, RoleGrant
from people.models import Profile
from people.selectors import two_factor_confirmed


def issuer_list() -> QuerySet[Issuer]:
    return Issuer.objects.order_by("id")


def issuer_get(issuer_id: int) -> Issuer:
    issuer = Issuer.objects.filter(pk=issuer_id).first()
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    return issuer


def issuer_get_to_grant(issuer_id: int, *, actor: Actor) -> Issuer:
    """The issuer, for someone who may grant roles on it: its finance officers, and staff
    (404, then 403). For the API, which refuses the person before it reads their input;
    `services.role_grant` checks the same gate for every caller."""
    issuer = issuer_get(issuer_id)
    gates.require_officer_or_staff(actor, issuer)
    return issuer


def issuer_get_for_officer(issuer_id: int, *, actor: Actor) -> Issuer:
    """The issuer, for one of its finance officers to act on (404, then 401/403)."""
    issuer = issuer_get(issuer_id)
    gates.require_officer(actor, issuer)
    return issuer


def role_grants_of_issuer(issuer_id: int, *, actor: Actor) -> tuple[Issuer, list[RoleGrant]]:
    """An issuer and who holds its roles, by username, for one of its finance officers
    (404, then 401/403): the people they may grant roles to and revoke them from."""
    issuer = issuer_get_for_officer(issuer_id, actor=actor)
    grants = RoleGrant.objects.filter(issuer=issuer).select_related("user__profile", "granted_by")
    return issuer, list(grants.order_by("user__username", "role"))


def role_grants_of(user) -> QuerySet[RoleGrant]:
    """The roles a person holds, with their issuers, by issuer then role."""
    return RoleGrant.objects.filter(user=user).select_related("issuer").order_by("issuer_id", "role")


def person_summary(user: Any) -> dict[str, Any]:
    profile = Profile.objects.filter(user=user).first()
    grants = list(role_grants_of(user))
    roles: list[str] = []
    if profile is not None:
        roles.append("resident")
    for role in ("finance_officer", "auditor"):
        if any(g.role == role for g in grants):
            roles.append(role)
    if is_staff(user):
        roles.append("staff")
    return {
        "id": user.pk,
        "username": user.get_username(),
        "full_name": profile.full_name if profile else user.get_full_name(),
        "postcode": profile.postcode if profile else "",
        "roles": roles,
        "issuers": [{"id": g.issuer_id, "role": g.role} for g in grants],
        "two_factor": two_factor_confirmed(user),
    }


def officer_emails_of(issuer: Issuer | int) -> list[str]:
    """The addresses of an issuer's finance officers (for the worker's e-mails to them)."""
    issuer_id = issuer if isinstance(issuer, int) else issuer.pk
    return sorted(
        address
        for address in RoleGrant.objects.filter(issuer_id=issuer_id, role="finance_officer").values_list(
            "user__email", flat=True
        )
        if address
    )
