"""Writes for issuers and role grants."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from bondplatform.actors import Actor, person_or_none
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, Conflict, NotFound, RuleViolation
from bondplatform.refusals import refusals_kept
from issuers import gates
from issuers.models import CIC_FORMS, AssetLockBasis, Issuer, LegalForm, Role, RoleGrant

# Which asset-lock bases a legal form can have, and why:
# - a community benefit society's lock is the statutory one (SI 2006/264);
# - a CIC's lock is imposed by the CIC Regulations 2005 (Sch 1-3);
# - a co-operative society cannot adopt the statutory lock, only rules;
# - a charity's assets are locked to its objects by charity law and its articles.
ALLOWED_ASSET_LOCK_BASES: dict[str, frozenset[str]] = {
    LegalForm.COMMUNITY_BENEFIT_SOCIETY: frozenset({AssetLockBasis.STATUTORY}),
    LegalForm.COOPERATIVE_SOCIETY: frozenset({AssetLockBasis.ARTICLES, AssetLockBasis.NONE}),
    LegalForm.CIC_LIMITED_BY_SHARES: frozenset({AssetLockBasis.CIC}),
    LegalForm.CIC_LIMITED_BY_GUARANTEE: frozenset({AssetLockBasis.CIC}),
    LegalForm.CHARITY: frozenset({AssetLockBasis.ARTICLES}),
    LegalForm.COMPANY_LIMITED_BY_GUARANTEE: frozenset({AssetLockBasis.ARTICLES, AssetLockBasis.NONE}),
    LegalForm.OTHER: frozenset({AssetLockBasis.ARTICLES, AssetLockBasis.NONE}),
}

# CIC Regulations 2005 reg 21 (as amended 2014): performance-related interest
# on a CIC's debt is capped at 20 % a year; no CIC may declare more.
CIC_MAX_INTEREST_RATE_PERCENT = Decimal("20.00")


def issuer_validate_constitution(
    *, legal_form: str, asset_lock_basis: str, max_interest_rate_percent: Decimal
) -> None:
    allowed = ALLOWED_ASSET_LOCK_BASES[legal_form]
    if asset_lock_basis not in allowed:
        raise BadInput(
            f"A {LegalForm(legal_form).label.lower()} must have an asset-lock basis of "
            f"{' or '.join(sorted(allowed))}.",
            code="asset_lock_basis_mismatch",
            fields={"asset_lock_basis": [f"Must be one of: {', '.join(sorted(allowed))}."]},
        )
    if legal_form in CIC_FORMS and max_interest_rate_percent > CIC_MAX_INTEREST_RATE_PERCENT:
        raise BadInput(
            "A CIC may not pay more than 20 % a year in performance-related interest "
            "(CIC Regulations 2005 reg 21).",
            code="rate_cap_exceeded",
            fields={"max_interest_rate_percent": ["At most 20.00 for a CIC."]},
        )


@transaction.atomic
def issuer_create(*, actor: Actor, **fields: Any) -> Issuer:
    gates.require_staff(actor)
    issuer_validate_constitution(
        legal_form=fields["legal_form"],
        asset_lock_basis=fields["asset_lock_basis"],
        max_interest_rate_percent=fields["max_interest_rate_percent"],
    )
    issuer = Issuer.objects.create(**fields)
    audit_record(actor=actor, issuer=issuer, action="issuer.create", obj=issuer, data={"name": issuer.name})
    return issuer


# What staff may change on an issuer (the admin's form), each judged like a new issuer's.
ISSUER_CHANGEABLE_FIELDS = (
    "name",
    "legal_form",
    "registration_number",
    "asset_lock_basis",
    "max_interest_rate_percent",
    "bank_account_name",
    "sort_code",
    "account_number",
)


@transaction.atomic
def issuer_update(*, actor: Actor, issuer_id: int, **fields: Any) -> Issuer:
    """Staff correct an issuer: its constitution is judged as on creation, and every change
    is audited with its old and new values."""
    gates.require_staff(actor)
    unknown = set(fields) - set(ISSUER_CHANGEABLE_FIELDS)
    if unknown:
        raise BadInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    issuer = Issuer.objects.select_for_update().filter(pk=issuer_id).first()
    if issuer is None:
        raise NotFound("There is no such issuer.", code="issuer_not_found")
    changed = {
        name: [str(getattr(issuer, name)), str(value)]
        for name, value in fields.items()
        if getattr(issuer, name) != value
    }
    for name, value in fields.items():
        setattr(issuer, name, value)
    issuer_validate_constitution(
        legal_form=issuer.legal_form,
        asset_lock_basis=issuer.asset_lock_basis,
        max_interest_rate_percent=issuer.max_interest_rate_percent,
    )
    if changed:
        issuer.save(update_fields=sorted(changed))
        audit_record(actor=actor, issuer=issuer, action="issuer.update", obj=issuer, data=changed)
    return issuer


# Segregation of duties: who keeps an issuer's books may not also audit them, and nobody
# grants themselves a role (an officer could otherwise make itself its own auditor).
INCOMPATIBLE_ROLES: dict[str, frozenset[str]] = {
    Role.FINANCE_OFFICER: frozenset({Role.AUDITOR}),
    Role.AUDITOR: frozenset({Role.FINANCE_OFFICER}),
}


def _duties_kept_apart(*, actor: Actor, issuer: Issuer, user: Any, role: Role) -> None:
    if getattr(actor, "pk", None) == user.pk:
        raise RuleViolation(
            "Nobody may grant themselves a role: another officer of the issuer, or staff, must do it.",
            code="segregation_of_duties",
        )
    held = set(
        RoleGrant.objects.filter(issuer=issuer, user=user, role__in=INCOMPATIBLE_ROLES[role]).values_list(
            "role", flat=True
        )
    )
    if held:
        holds = " and ".join(sorted(Role(other).label.lower() for other in held))
        raise RuleViolation(
            f"{user.username} is {holds} of {issuer.name}: one person may not both keep and audit "
            f"an issuer's books.",
            code="segregation_of_duties",
            extra={"held": sorted(held)},
        )


def role_grant(*, actor: Actor, issuer: Issuer, username: str, role: Role) -> RoleGrant:
    gates.require_officer_or_staff(actor, issuer)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(
            f"There is no user called {username!r}.",
            code="user_not_found",
            fields={"username": ["No such user."]},
        )
    with (
        refusals_kept(actor=actor, issuer=issuer, context={"user": user.pk, "role": str(role)}),
        transaction.atomic(),
    ):
        # The grantee's row is locked, so that two grants of incompatible roles to one
        # person at once are judged one after the other (the second sees the first).
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        _duties_kept_apart(actor=actor, issuer=issuer, user=user, role=role)
        try:
            with transaction.atomic():
                grant = RoleGrant.objects.create(
                    issuer=issuer, user=user, role=role, granted_by=person_or_none(actor)
                )
        except IntegrityError:
            raise Conflict(
                f"{username} is already {Role(role).label.lower()} of {issuer.name}.", code="already_granted"
            ) from None
        audit_record(
            actor=actor, issuer=issuer, action="role.grant", obj=grant, data={"user": user.pk, "role": role}
        )
    return grant


@transaction.atomic
def role_revoke(*, actor: Actor, grant_id: int, issuer_id: int | None = None) -> RoleGrant:
    """Staff, or a finance officer of the grant's issuer, end someone's role in it (audited;
    the grant row goes). Returns the grant as it was.

    `issuer_id`, when given (a page under one issuer), is checked first and must be the
    grant's issuer (404 otherwise: one issuer's officers learn nothing of another's grants).
    An officer may not remove the issuer's last finance officer (409 `last_officer`): nobody
    but staff could then run its issues or grant the role again. Staff may (the admin)."""
    if issuer_id is not None:
        gates.require_officer_or_staff(actor, issuer_id)
    grant = RoleGrant.objects.select_related("issuer", "user").filter(pk=grant_id).first()
    if grant is None or (issuer_id is not None and grant.issuer_id != issuer_id):
        raise NotFound("There is no such role grant.", code="role_grant_not_found")
    gates.require_officer_or_staff(actor, grant.issuer)
    # The issuer's officer grants, locked in one order: two officers removing each other at
    # once are judged one after the other, so the second sees that it would leave nobody.
    officers = list(
        RoleGrant.objects.select_for_update()
        .filter(issuer_id=grant.issuer_id, role=Role.FINANCE_OFFICER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if grant.role == Role.FINANCE_OFFICER:
        if grant.pk not in officers:  # revoked meanwhile
            raise NotFound("There is no such role grant.", code="role_grant_not_found")
        if len(officers) == 1 and not gates.is_staff(actor):
            raise Conflict(
                f"{grant.user.username} is the last finance officer of {grant.issuer.name}: grant the "
                "role to someone else first, so that somebody can still run its issues.",
                code="last_officer",
            )
    elif not RoleGrant.objects.select_for_update().filter(pk=grant.pk).exists():
        raise NotFound("There is no such role grant.", code="role_grant_not_found")
    audit_record(
        actor=actor,
        issuer=grant.issuer,
        action="role.revoke",
        obj=grant,
        data={"user": grant.user_id, "role": grant.role},
    )
    grant.delete()
    return grant


def role_revoke_of(*, actor: Actor, issuer_id: int, user_id: int, role: Role) -> RoleGrant:
    """End the role `role` of person `user_id` in issuer `issuer_id` (the API names a grant so):
    as `role_revoke`, and 404 `role_grant_not_found` if they do not hold it."""
    gates.require_officer_or_staff(actor, issuer_id)
    grant_id = (
        RoleGrant.objects.filter(issuer_id=issuer_id, user_id=user_id, role=role)
        .values_list("pk", flat=True)
        .first()
    )
    if grant_id is None:
        raise NotFound(
            f"That person is not {Role(role).label.lower()} of this issuer.", code="role_grant_not_found"
        )
    return role_revoke(actor=actor, grant_id=grant_id, issuer_id=issuer_id)
