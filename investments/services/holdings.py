"""A holder's choices about their holding: how its interest is applied.

`interest_preference` applies to every interest computed after the change
(an interest run's line, or a redemption's accrued interest); a line made
before is never recomputed (see `services/interest_runs.py`).
"""

from __future__ import annotations

from django.db import transaction

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, InvalidState, RuleViolation
from compliance.services import refusals_kept
from investments.locks import holding_lock
from investments.models import Holding, HoldingStatus, InterestPreference
from investments.selectors_servicing import holding_get_for_holder


def holding_preference_set(*, actor: Actor, holding_id: int, preference: str) -> Holding:
    """The holder chooses `pay`, `waive` or `reinvest` (422 `reinvestment_not_allowed` where the terms do not)."""
    holding = holding_get_for_holder(holding_id, actor=actor)
    if preference not in InterestPreference.values:
        raise BadInput(
            f"The preference is one of {', '.join(InterestPreference.values)}.",
            code="invalid",
            fields={"preference": ["Not a preference."]},
        )
    with (
        refusals_kept(
            actor=actor, issuer=holding.issue.issuer, subject=holding, context={"preference": preference}
        ),
        transaction.atomic(durable=True),
    ):
        issue, holding = holding_lock(holding_id)
        if holding.status != HoldingStatus.ACTIVE:
            raise InvalidState(
                "This holding has been repaid: it earns no more interest.",
                code="holding_redeemed",
                extra={"status": holding.status},
            )
        if preference == InterestPreference.REINVEST and not issue.reinvestment_allowed:
            raise RuleViolation(
                "The terms of this issue do not allow interest to be reinvested.",
                code="reinvestment_not_allowed",
                rule="reinvestment",
            )
        before = holding.interest_preference
        if before != preference:
            holding.interest_preference = preference
            holding.save(update_fields=["interest_preference"])
            audit_record(
                actor=actor,
                issuer=issue.issuer,
                action="holding.interest_preference",
                obj=holding,
                data={"from": before, "to": preference},
            )
        return holding
