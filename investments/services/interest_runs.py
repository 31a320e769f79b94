"""Interest runs: each coupon period's interest, for every holding of an issue.

`interest_run_request` (an officer, or the daily schedule as SYSTEM) creates
the run `queued` and hands `interest_run_execute` to the django-q2 worker
after COMMIT. One run per issue and period: asking again returns it (and
queues a failed run again). Runs go in order: a period is run only once the
periods before it have completed, since a reinvested coupon is principal in
the next period.

The executor works through the holdings in batches, one transaction each
(`BATCH_SIZE`): it locks the issue, the run and the batch's holdings (the
order of `investments/locks.py`), computes each holding's coupon with
`investments.interest` on its outstanding principal (principal less
redeemed) from the later of allotment and the period's start, applies the
holder's preference at that moment (`services/servicing.py`: pay, waive,
reinvest), posts all the batch's entries with one `entries_post`, and stores
each holding's line and running totals in the same transaction. Each entry's
idempotency key is `interest:<issue>:<period_end>:<holding>`, and a holding
with a line in the run is skipped: so a worker killed half-way and run again
pays nobody twice and leaves the ledger an uninterrupted run would have.

A preference change applies to every holding computed after it; a line
already made is never recomputed. `reinvest` applies only where the issue
allows it and within the holder's caps (the issue's `max_subscription`, and
a society's member cap); beyond them the coupon is paid, and the refusal is
logged as a decision.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bondplatform.actors import SYSTEM, Actor, person_or_none, system_name
from bondplatform.audit import audit_record
from bondplatform.background import after_commit
from bondplatform.errors import Conflict, InvalidState, NotFound, RuleViolation
from compliance.caps import SubscriptionFacts, check_subscription_caps
from compliance.services import decision_record, refusals_kept
from investments import notifications
from investments.interest import CouponPeriod, coupon_pence, period_ending
from investments.locks import holdings_lock, issue_lock
from investments.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    BondIssue,
    Holding,
    InterestLine,
    InterestPreference,
    InterestRun,
    InterestRunStatus,
    IssueStatus,
    Payout,
    PayoutKind,
    Subscription,
)
from investments.services.payout_batches import payout_batch_of_run
from investments.services.servicing import InterestApplied, interest_apply, schedule_of
from issuers import gates
from ledger.services import entries_post

logger = logging.getLogger(__name__)

# Holdings per transaction: each batch holds the issuer's ledger head lock while it posts.
BATCH_SIZE = 500


def interest_key(*, issue_id: int, period_end: dt.date, holding_id: int) -> str:
    return f"interest:{issue_id}:{period_end.isoformat()}:{holding_id}"


def interest_run_request(
    *, actor: Actor, issue_id: int, period_end: dt.date, idempotency_key: str | None = None
) -> tuple[InterestRun, bool]:
    """Ask for the interest of the period ending `period_end`: (the run, whether it is new)."""
    issue = BondIssue.objects.select_related("issuer").filter(pk=issue_id).first()
    if issue is None:
        raise NotFound("No such bond issue.", code="issue_not_found")
    gates.require_officer(actor, issue.issuer)
    with (
        refusals_kept(
            actor=actor, issuer=issue.issuer, subject=issue, context={"period_end": str(period_end)}
        ),
        transaction.atomic(durable=True),
    ):
        issue = issue_lock(issue_id)
        if idempotency_key is not None:
            keyed = InterestRun.objects.filter(issue=issue, idempotency_key=idempotency_key).first()
            if keyed is not None and keyed.period_end != period_end:
                raise Conflict(
                    f"The Idempotency-Key was used for the run of the period ending {keyed.period_end}.",
                    code="idempotency_key_reused",
                )
        run = InterestRun.objects.filter(issue=issue, period_end=period_end).first()
        if run is not None:
            if run.status == InterestRunStatus.FAILED:
                run.status = InterestRunStatus.QUEUED
                run.save(update_fields=["status"])
                audit_record(actor=actor, issuer=issue.issuer, action="interest_run.requeue", obj=run)
                after_commit("investments.tasks.execute_interest_run", run_id=run.pk)
            return run, False
        if issue.status != IssueStatus.ACTIVE:
            raise InvalidState(
                f"Interest is run for active issues; this one is {issue.status}.",
                code="issue_not_active",
                extra={"status": issue.status},
            )
        periods = schedule_of(issue)
        period = period_ending(periods, period_end)
        if period is None:
            raise RuleViolation(
                f"{period_end} is not a coupon date of this issue.",
                code="not_a_coupon_date",
                rule="interest_run_period",
                extra={"coupon_dates": [p.end.isoformat() for p in periods]},
            )
        if period_end > timezone.localdate():
            raise RuleViolation(
                f"The period ending {period_end} has not ended yet.",
                code="period_not_ended",
                rule="interest_run_period",
            )
        earlier = [p.end for p in periods if p.end < period_end]
        completed = set(
            InterestRun.objects.filter(
                issue=issue, period_end__in=earlier, status=InterestRunStatus.COMPLETED
            ).values_list("period_end", flat=True)
        )
        missing = [end for end in earlier if end not in completed]
        if missing:
            raise RuleViolation(
                f"The interest of the period ending {missing[0]} has not been run to completion: "
                "runs go in order.",
                code="earlier_period_not_run",
                rule="interest_run_order",
                extra={"period_end": missing[0].isoformat()},
            )
        run = InterestRun.objects.create(
            issue=issue,
            period_start=period.start,
            period_end=period.end,
            requested_by=person_or_none(actor),
            requested_by_system=system_name(actor),
            idempotency_key=idempotency_key,
        )
        audit_record(
            actor=actor,
            issuer=issue.issuer,
            action="interest_run.request",
            obj=run,
            data={"issue": issue.pk, "period_end": period_end.isoformat()},
        )
        after_commit("investments.tasks.execute_interest_run", run_id=run.pk)
        return run, True


def interest_run_execute(*, run_id: int, batch_size: int | None = None) -> InterestRun:
    """Run (or finish) a run: safe to call again, and from two workers at once."""
    batch_size = batch_size or BATCH_SIZE
    run = _run_start(run_id)
    if run.status != InterestRunStatus.RUNNING:
        return run
    try:
        while _run_batch(run_id, batch_size):
            pass
        return _run_complete(run_id)
    except Exception as exc:
        logger.exception("Interest run %s failed", run_id)
        return _run_fail(run_id, reason=f"{type(exc).__name__}: {exc}"[:2000])


def interest_runs_start_due(*, today: dt.date | None = None) -> list[int]:
    """The daily schedule: request each active issue's due runs, in order, as SYSTEM.

    A run that failed or was left running by a dead worker is queued again
    (its executor skips the holdings it had done)."""
    today = today or timezone.localdate()
    started = []
    for issue in BondIssue.objects.filter(status=IssueStatus.ACTIVE).select_related("issuer"):
        ran = dict(InterestRun.objects.filter(issue=issue).values_list("period_end", "status"))
        for period in schedule_of(issue):
            if period.end > today:
                break
            status = ran.get(period.end)
            if status == InterestRunStatus.COMPLETED:
                continue
            if status in (InterestRunStatus.QUEUED, InterestRunStatus.RUNNING):
                run_id = InterestRun.objects.get(issue=issue, period_end=period.end).pk
                after_commit("investments.tasks.execute_interest_run", run_id=run_id)
                started.append(run_id)
            else:
                run, _ = interest_run_request(actor=SYSTEM, issue_id=issue.pk, period_end=period.end)
                started.append(run.pk)
            break  # the next period waits for this one to complete
    return started


# --- the executor's steps, one transaction each --------------------------------------


def _run_locked(run_id: int) -> tuple[BondIssue, InterestRun]:
    issue_id = InterestRun.objects.filter(pk=run_id).values_list("issue_id", flat=True).first()
    if issue_id is None:
        raise NotFound("No such interest run.", code="interest_run_not_found")
    issue = issue_lock(issue_id)
    return issue, InterestRun.objects.select_for_update().get(pk=run_id)


def _run_start(run_id: int) -> InterestRun:
    with transaction.atomic(durable=True):
        issue, run = _run_locked(run_id)
        if run.status in (InterestRunStatus.QUEUED, InterestRunStatus.FAILED):
            run.status = InterestRunStatus.RUNNING
            run.failure_reason = ""
            run.started_at = run.started_at or timezone.now()
            run.holdings_total = Holding.objects.filter(issue=issue).count()
            run.save(update_fields=["status", "failure_reason", "started_at", "holdings_total"])
            audit_record(actor=SYSTEM, issuer=issue.issuer, action="interest_run.start", obj=run)
        return run


def _run_batch(run_id: int, batch_size: int) -> int:
    """Apply the next `batch_size` holdings' interest; how many were done (0: none left)."""
    with transaction.atomic(durable=True):
        issue, run = _run_locked(run_id)
        if run.status != InterestRunStatus.RUNNING:
            return 0
        undone = Holding.objects.filter(
            ~Exists(InterestLine.objects.filter(run_id=run.pk, holding_id=OuterRef("pk")))
        )
        holdings = holdings_lock(issue, undone, limit=batch_size)
        if not holdings:
            return 0
        period = CouponPeriod(run.period_start, run.period_end)
        reinvest_room = _reinvest_room(issue, holdings)
        applied: list[tuple[Holding, int, InterestApplied]] = []
        for holding in holdings:
            outstanding = holding.outstanding_pence
            amount = coupon_pence(
                principal_pence=outstanding,
                rate_percent=issue.coupon_rate_percent,
                period=period,
                held_from=holding.allotted_on,
                day_count=issue.day_count,
            )
            preference = holding.interest_preference
            if preference == InterestPreference.REINVEST:
                preference = reinvest_room.decide(issue, holding, amount)
            applied.append(
                (
                    holding,
                    outstanding,
                    interest_apply(
                        issuer=issue.issuer,
                        holding_id=holding.pk,
                        currency=issue.currency,
                        amount_pence=amount,
                        preference=preference,
                        value_date=run.period_end,
                        description=f"Interest to {run.period_end}: holding {holding.pk} in issue {issue.pk}",
                        idempotency_key=interest_key(
                            issue_id=issue.pk, period_end=run.period_end, holding_id=holding.pk
                        ),
                    ),
                )
            )
        specs = [a.entry for _, _, a in applied if a.entry is not None]
        posted = iter(entries_post(issuer=issue.issuer_id, entries=specs))
        lines, payouts = [], []
        batch = None
        for holding, outstanding, a in applied:
            entry = next(posted) if a.entry is not None else None
            lines.append(
                InterestLine(
                    run=run,
                    holding=holding,
                    preference=a.preference,
                    principal_pence=outstanding,
                    gross_pence=a.gross_pence,
                    tax_pence=a.tax_pence,
                    net_pence=a.net_pence,
                    reinvested_pence=a.reinvested_pence,
                    waived_pence=a.waived_pence,
                    ledger_entry=entry,
                )
            )
            if a.net_pence and not a.reinvested_pence:
                batch = batch or payout_batch_of_run(run, issuer_id=issue.issuer_id)
                payouts.append(
                    Payout(
                        batch=batch,
                        holding=holding,
                        holder_id=holding.holder_id,
                        kind=PayoutKind.INTEREST,
                        amount_pence=a.net_pence,
                        key=f"interest:{run.pk}:{holding.pk}",
                    )
                )
        InterestLine.objects.bulk_create(lines)
        _holdings_add(
            [
                (h.pk, a.reinvested_pence, a.net_pence, a.reinvested_pence, a.waived_pence, a.tax_pence)
                for h, _, a in applied
                if a.entry is not None
            ]
        )
        Payout.objects.bulk_create(payouts)
        InterestRun.objects.filter(pk=run.pk).update(holdings_done=F("holdings_done") + len(holdings))
        return len(holdings)


_HOLDING = Holding._meta.db_table


def _holdings_add(rows: list[tuple[int, int, int, int, int, int]]) -> None:
    """Add a batch's amounts to its holdings in one statement: (id, principal, interest paid,
    reinvested, waived, tax withheld). `bulk_update` would write a CASE per row and column,
    which was two thirds of a run's time."""
    if not rows:
        return
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    values = ", ".join([f"(%s{cast}, %s{cast}, %s{cast}, %s{cast}, %s{cast}, %s{cast})"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, principal, paid, reinvested, waived, tax) AS (VALUES {values})"  # noqa: S608 - table name from _meta
            f" UPDATE {_HOLDING} SET principal_pence = {_HOLDING}.principal_pence + v.principal,"
            f" interest_paid_pence = {_HOLDING}.interest_paid_pence + v.paid,"
            f" interest_reinvested_pence = {_HOLDING}.interest_reinvested_pence + v.reinvested,"
            f" interest_waived_pence = {_HOLDING}.interest_waived_pence + v.waived,"
            f" tax_withheld_pence = {_HOLDING}.tax_withheld_pence + v.tax"
            f" FROM v WHERE {_HOLDING}.id = v.id",
            [value for row in rows for value in row],
        )


def _run_complete(run_id: int) -> InterestRun:
    with transaction.atomic(durable=True):
        issue, run = _run_locked(run_id)
        if run.status != InterestRunStatus.RUNNING:
            return run
        totals = InterestLine.objects.filter(run=run).aggregate(
            gross=Coalesce(Sum("gross_pence"), 0),
            tax=Coalesce(Sum("tax_pence"), 0),
            net=Coalesce(Sum("net_pence"), 0),
            reinvested=Coalesce(Sum("reinvested_pence"), 0),
            waived=Coalesce(Sum("waived_pence"), 0),
            done=Count("id"),
        )
        run.total_gross_pence = totals["gross"]
        run.total_tax_withheld_pence = totals["tax"]
        run.total_net_pence = totals["net"]
        run.total_reinvested_pence = totals["reinvested"]
        run.total_waived_pence = totals["waived"]
        run.holdings_done = totals["done"]
        run.holdings_total = max(run.holdings_total, run.holdings_done)
        run.status = InterestRunStatus.COMPLETED
        run.finished_at = timezone.now()
        run.save()
        audit_record(
            actor=SYSTEM,
            issuer=issue.issuer,
            action="interest_run.complete",
            obj=run,
            data={"holdings": run.holdings_done, "gross_pence": run.total_gross_pence},
        )
        notifications.interest_run_completed(run)
        return run


def _run_fail(run_id: int, *, reason: str) -> InterestRun:
    with transaction.atomic(durable=True):
        issue, run = _run_locked(run_id)
        if run.status == InterestRunStatus.COMPLETED:
            return run
        run.status = InterestRunStatus.FAILED
        run.failure_reason = reason
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "failure_reason", "finished_at"])
        audit_record(
            actor=SYSTEM, issuer=issue.issuer, action="interest_run.fail", obj=run, data={"reason": reason}
        )
        return run


# --- reinvestment within the holder's caps -------------------------------------------


class _ReinvestRoom:
    """The capital each reinvesting holder of a batch has in the issue and with the issuer."""

    def __init__(self, in_issue: dict[int, int], with_issuer: dict[int, int]):
        self.in_issue = in_issue
        self.with_issuer = with_issuer

    def decide(self, issue: BondIssue, holding: Holding, amount_pence: int) -> str:
        """`reinvest` if the terms allow it and the caps leave room for the net interest, else `pay`."""
        if not issue.reinvestment_allowed:
            return InterestPreference.PAY
        if amount_pence <= 0:
            return InterestPreference.REINVEST
        holder = holding.holder_id
        facts = SubscriptionFacts(
            amount_pence=amount_pence,  # the gross bounds the net: a cap that holds for it holds for the net
            min_subscription_pence=0,
            max_subscription_pence=issue.max_subscription_pence,
            investor_issue_total_pence=self.in_issue.get(holder, 0),
            society_cap_applies=issue.issuer.is_society,
            investor_issuer_total_pence=self.with_issuer.get(holder, 0),
        )
        try:
            check_subscription_caps(facts)
        except RuleViolation as refusal:
            decision_record(
                actor=SYSTEM,
                issuer=issue.issuer,
                rule=refusal.rule,
                allowed=False,
                reason=f"Reinvesting the interest would break a cap, so it is paid instead: {refusal.detail}",
                subject=holding,
                context={"amount_pence": amount_pence, **refusal.extra},
            )
            return InterestPreference.PAY
        self.in_issue[holder] = self.in_issue.get(holder, 0) + amount_pence
        self.with_issuer[holder] = self.with_issuer.get(holder, 0) + amount_pence
        return InterestPreference.REINVEST


def _reinvest_room(issue: BondIssue, holdings: list[Holding]) -> _ReinvestRoom:
    holders = {h.holder_id for h in holdings if h.interest_preference == InterestPreference.REINVEST}
    if not holders or not issue.reinvestment_allowed:
        return _ReinvestRoom({}, {})
    outstanding = Sum(F("principal_pence") - F("redeemed_pence"))
    in_issue: dict[int, int] = defaultdict(int)
    with_issuer: dict[int, int] = defaultdict(int)
    rows = (
        Holding.objects.filter(issue__issuer_id=issue.issuer_id, holder_id__in=holders)
        .values_list("holder_id", "issue_id")
        .annotate(total=outstanding)
        .order_by()
    )
    for holder, issue_id, total in rows:
        with_issuer[holder] += total
        if issue_id == issue.pk:
            in_issue[holder] += total
    live = (
        Subscription.objects.filter(
            issue__issuer_id=issue.issuer_id, investor_id__in=holders, status__in=LIVE_SUBSCRIPTION_STATUSES
        )
        .values_list("investor_id")
        .annotate(total=Sum("amount_pence"))
        .order_by()
    )
    for holder, total in live:
        with_issuer[holder] += total
    return _ReinvestRoom(dict(in_issue), dict(with_issuer))
