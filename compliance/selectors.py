"""Reads of the decision log."""

from __future__ import annotations

from django.db.models import QuerySet

from bondplatform.actors import Actor
from compliance.models import Decision
from issuers import gates
from issuers.selectors import issuer_get


def decision_list(
    *, actor: Actor, issuer_id: int, rule: str | None = None, outcome: str | None = None
) -> QuerySet[Decision]:
    """An issuer's decisions, newest first, for those who may read its books (404, then 403)."""
    issuer = issuer_get(issuer_id)
    gates.require_ledger_reader(actor, issuer)
    decisions = Decision.objects.filter(issuer_id=issuer.pk)
    if rule:
        decisions = decisions.filter(rule=rule)
    if outcome:
        decisions = decisions.filter(outcome=outcome)
    return decisions.order_by("-decided_at", "-id")
