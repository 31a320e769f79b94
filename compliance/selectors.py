"""Reads of the decision log."""

from __future__ import annotations

from django.db.models import QuerySet

from compliance.models import Decision


def decision_list(
    *, issuer_id: int, rule: str | None = None, outcome: str | None = None
) -> QuerySet[Decision]:
    decisions = Decision.objects.filter(issuer_id=issuer_id)
    if rule:
        decisions = decisions.filter(rule=rule)
    if outcome:
        decisions = decisions.filter(outcome=outcome)
    return decisions.order_by("-decided_at", "-id")
