"""Reads about people."""

from __future__ import annotations

from typing import Any

from issuers.gates import is_staff
from issuers.selectors import role_grants_of
from people.models import Profile
from people.services import two_factor_confirmed


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
