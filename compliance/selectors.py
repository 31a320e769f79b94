"""Reads of the decision log."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from bondplatform.actors import Actor
from compliance.models import Decision
from issuers import gates
from issuers.selectors import issuer_get


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` where the service keeps its days (settings.TIME_ZONE)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def decision_list(
    *,
    actor: Actor,
    issuer_id: int,
    rule: str | None = None,
    outcome: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    subjects: Q | None = None,
) -> QuerySet[Decision]:
    """An issuer's decisions, newest first, for those who may read its books (404, then 403).

    `since` and `until` are days, both included, in the service's time zone.
    `subjects` narrows to the decisions about some subjects: the apps above
    say which (an issue's are its subscriptions, holdings and so on, which
    this app does not know of)."""
    issuer = issuer_get(issuer_id)
    gates.require_ledger_reader(actor, issuer)
    decisions = Decision.objects.filter(issuer_id=issuer.pk)
    if rule:
        decisions = decisions.filter(rule=rule)
    if outcome:
        decisions = decisions.filter(outcome=outcome)
    if since is not None:
        decisions = decisions.filter(decided_at__gte=_start_of(since))
    if until is not None:
        decisions = decisions.filter(decided_at__lt=_start_of(until + dt.timedelta(days=1)))
    if subjects is not None:
        decisions = decisions.filter(subjects)
    return decisions.select_related("actor").order_by("-decided_at", "-id")
