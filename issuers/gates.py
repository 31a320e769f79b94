"""Permission gates: the only place that decides who may act on an issuer.

Services call one gate (views do not: they call the service, which checks).
A gate returns nothing or raises: 401 for nobody signed in, 403 for the
wrong person. The `SYSTEM` actor (scheduled tasks, commands, webhooks)
passes the issuer gates, since it runs the issuers' own scheduled work; it
never passes `require_self`, since it owns nothing.
"""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated

from bondplatform.actors import Actor, SystemActor, is_system
from bondplatform.errors import NotFound, NotPermitted
from issuers.models import Issuer, Role, RoleGrant

# The gates about the person alone live with people (below issuers), so that
# people's own services can call them too; the issuer gates build on them.
from people.gates import (
    is_staff,
    require_email_verified,
    require_person,
    require_signed_in,
    require_staff,
    require_two_factor,
)

__all__ = [
    "is_staff",
    "may_act_as_officer",
    "require_email_verified",
    "require_ledger_reader",
    "require_officer",
    "require_officer_or_staff",
    "require_person",
    "require_private",
    "require_register_reader",
    "require_role_holder",
    "require_self",
    "require_signed_in",
    "require_staff",
    "require_two_factor",
    "roles_in",
]

User = Actor


def roles_in(user: User, issuer: Issuer | int) -> set[str]:
    if isinstance(user, SystemActor) or not user.is_authenticated:
        return set()
    issuer_id = issuer if isinstance(issuer, int) else issuer.pk
    return set(RoleGrant.objects.filter(user_id=user.pk, issuer_id=issuer_id).values_list("role", flat=True))


def holds_any_role(user: User) -> bool:
    """Whether the person is an officer or auditor of any issuer (one query; none for nobody)."""
    if isinstance(user, SystemActor) or not user.is_authenticated:
        return False
    return RoleGrant.objects.filter(user_id=user.pk).exists()


def require_role_holder(user: User) -> None:
    """An officer or auditor of at least one issuer: the people the officer pages are for."""
    require_signed_in(user)
    if not holds_any_role(user):
        raise NotPermitted(
            "These pages are for the finance officers and auditors of an issuer.",
            code="not_an_officer_or_auditor",
        )
    require_two_factor(user)


def require_officer(user: User, issuer: Issuer | int) -> None:
    """A finance officer of this issuer (staff are not officers: they do not run issues)."""
    require_signed_in(user)
    if is_system(user):
        return
    if Role.FINANCE_OFFICER not in roles_in(user, issuer):
        raise NotPermitted("Only a finance officer of this issuer can do this.", code="not_an_officer")
    require_two_factor(user)


def may_act_as_officer(user: User, issuer: Issuer | int) -> bool:
    """Whether `require_officer` would let this person act: pages use it to show only the
    buttons that would work (the service behind each button still calls the gate)."""
    try:
        require_officer(user, issuer)
    except (NotPermitted, NotAuthenticated):
        return False
    return True


def require_officer_or_staff(user: User, issuer: Issuer | int) -> None:
    require_signed_in(user)
    if is_system(user):
        return
    if is_staff(user):
        require_two_factor(user)
        return
    require_officer(user, issuer)


def require_ledger_reader(user: User, issuer: Issuer | int) -> None:
    """Officers and auditors of the issuer, and staff, may read its books."""
    require_signed_in(user)
    if is_system(user):
        return
    if is_staff(user):
        require_two_factor(user)
        return
    if not roles_in(user, issuer) & {Role.FINANCE_OFFICER, Role.AUDITOR}:
        raise NotPermitted(
            "Only officers and auditors of this issuer can see this.", code="not_an_officer_or_auditor"
        )
    require_two_factor(user)


def require_register_reader(user: User, issuer: Issuer | int) -> None:
    """The register of bondholders holds personal data: officers and auditors only."""
    require_signed_in(user)
    if is_system(user):
        return
    if not roles_in(user, issuer) & {Role.FINANCE_OFFICER, Role.AUDITOR}:
        raise NotPermitted(
            "Only officers and auditors of this issuer can see the register.",
            code="not_an_officer_or_auditor",
        )
    require_two_factor(user)


def require_private(user: User, *, issuer_id: int, owner_id: int | None, missing: NotFound) -> None:
    """Whether `user` may know that a private object exists: 401 for nobody, then `missing`
    (a 404) for anyone who is neither its owner, an officer or auditor of its issuer, nor
    staff. Private objects (a person's subscription, holding or redemption request; an
    issuer's refunds, runs and payout batches) answer 404, never 403, to everyone else, so
    an id reveals nothing; what may then be done with it is the next gate's to say (403)."""
    require_signed_in(user)
    if is_system(user) or is_staff(user):
        return
    if owner_id is not None and user.pk == owner_id:
        return
    if roles_in(user, issuer_id) & {Role.FINANCE_OFFICER, Role.AUDITOR}:
        return
    raise missing


def require_self(user: User, owner_id: int) -> None:
    require_signed_in(user)
    if is_system(user) or user.pk != owner_id:
        raise NotPermitted("This belongs to someone else.", code="not_yours")
