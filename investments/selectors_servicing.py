"""Reads for a bond's life after allotment: runs, holdings as their holder sees them, payouts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from bondplatform.errors import NotFound
from investments.interest import coupon_pence
from investments.models import (
    Holding,
    HoldingStatus,
    InterestLine,
    InterestRun,
    IssueStatus,
    Payout,
    PayoutAccount,
    PayoutBatch,
    PayoutStatus,
    RedemptionRequest,
    RedemptionStatus,
)
from investments.services.servicing import schedule_of
from issuers import gates
from issuers.selectors import issuer_get


def holding_get_for_holder(holding_id: int, *, actor: Any) -> Holding:
    """A holding, for its holder to act on: 401, then 404 for anyone who may not know it exists,
    403 for its issuer's officers and auditors (they may see it, not act for its holder)."""
    gates.require_signed_in(actor)
    missing = NotFound("No such holding.", code="holding_not_found")
    holding = Holding.objects.select_related("issue__issuer").filter(pk=holding_id).first()
    if holding is None:
        raise missing
    gates.require_private(
        actor, issuer_id=holding.issue.issuer_id, owner_id=holding.holder_id, missing=missing
    )
    gates.require_self(actor, holding.holder_id)
    return holding


def redemption_request_get_for_officer(request_id: int, *, actor: Any) -> RedemptionRequest:
    """A redemption request, for one of its issuer's finance officers to decide (401, 404, 403)."""
    gates.require_signed_in(actor)
    missing = NotFound("No such redemption request.", code="redemption_request_not_found")
    request = RedemptionRequest.objects.select_related("holding__issue__issuer").filter(pk=request_id).first()
    if request is None:
        raise missing
    gates.require_private(
        actor, issuer_id=request.holding.issue.issuer_id, owner_id=request.holding.holder_id, missing=missing
    )
    gates.require_officer(actor, request.holding.issue.issuer)
    return request


def interest_run_get_for(viewer: Any, run_id: int) -> InterestRun:
    """A run, for the officers and auditors of its issuer (and staff)."""
    missing = NotFound("No such interest run.", code="interest_run_not_found")
    gates.require_signed_in(viewer)
    run = InterestRun.objects.select_related("issue").filter(pk=run_id).first()
    if run is None:
        raise missing
    gates.require_private(viewer, issuer_id=run.issue.issuer_id, owner_id=None, missing=missing)
    gates.require_ledger_reader(viewer, run.issue.issuer_id)
    return run


@dataclass(frozen=True)
class HoldingView:
    """A holding as its holder sees it (API.md: me/holdings/)."""

    holding: Holding
    next_coupon_date: dt.date | None
    next_coupon_estimate_pence: int | None  # gross, on today's outstanding principal
    payout_pending_pence: int


def holdings_of_holder(user: Any) -> list[HoldingView]:
    """Every holding of a person, repaid ones too, oldest first (three queries whatever the numbers)."""
    pending = (
        Payout.objects.filter(holding_id=OuterRef("pk"), status=PayoutStatus.OWED)
        .values("holding_id")
        .annotate(total=Sum("amount_pence"))
        .values("total")
    )
    holdings = list(
        Holding.objects.filter(holder=user)
        .select_related("issue")
        .annotate(
            payout_pending_pence=Coalesce(Subquery(pending), 0),
            last_coupon_run=Max("interest_lines__run__period_end"),
        )
        .order_by("allotted_on", "id")
    )
    schedules: dict[int, list] = {}
    views = []
    for holding in holdings:
        issue = holding.issue
        next_date, estimate = None, None
        if (
            holding.status == HoldingStatus.ACTIVE
            and issue.status == IssueStatus.ACTIVE
            and holding.outstanding_pence > 0
        ):
            periods = schedules.setdefault(issue.pk, schedule_of(issue))
            paid_to = holding.last_coupon_run or holding.allotted_on
            period = next((p for p in periods if p.end > paid_to), None)
            if period is not None:
                next_date = period.end
                estimate = coupon_pence(
                    principal_pence=holding.outstanding_pence,
                    rate_percent=issue.coupon_rate_percent,
                    period=period,
                    held_from=holding.allotted_on,
                    day_count=issue.day_count,
                )
        views.append(HoldingView(holding, next_date, estimate, holding.payout_pending_pence))
    return views


# The HMRC return of interest paid gross by a society (ITA 2007 s.887 and the
# reporting regulations): everyone credited at least £15 gross in the period.
HMRC_RETURN_THRESHOLD_PENCE = 15_00


@dataclass(frozen=True)
class InterestReturnRow:
    holder_id: int
    name: str
    postcode: str
    gross_pence: int


def interest_return_for(
    viewer: Any, *, issuer_id: int, date_from: dt.date, date_to: dt.date
) -> list[InterestReturnRow]:
    """Holders credited at least £15 of gross interest (paid or reinvested, never waived) by the
    issuer with a value date from `date_from` to `date_to` (both included), by name. Officers only."""
    gates.require_signed_in(viewer)
    issuer = issuer_get(issuer_id)
    gates.require_officer(viewer, issuer)
    totals: dict[int, int] = {}
    coupons = (
        InterestLine.objects.filter(
            run__issue__issuer_id=issuer.pk, run__period_end__gte=date_from, run__period_end__lte=date_to
        )
        .values_list("holding__holder_id")
        .annotate(total=Sum("gross_pence"))
        .order_by()
    )
    redemptions = (
        RedemptionRequest.objects.filter(
            holding__issue__issuer_id=issuer.pk,
            status=RedemptionStatus.APPROVED,
            redemption_date__gte=date_from,
            redemption_date__lte=date_to,
        )
        .values_list("holding__holder_id")
        .annotate(total=Sum("accrued_interest_pence"))
        .order_by()
    )
    for holder_id, total in [*coupons, *redemptions]:
        totals[holder_id] = totals.get(holder_id, 0) + (total or 0)
    due = {holder: total for holder, total in totals.items() if total >= HMRC_RETURN_THRESHOLD_PENCE}
    people = User.objects.filter(pk__in=due).select_related("profile")
    rows = [
        InterestReturnRow(
            holder_id=person.pk,
            name=getattr(getattr(person, "profile", None), "full_name", "") or person.get_username(),
            postcode=getattr(getattr(person, "profile", None), "postcode", ""),
            gross_pence=due[person.pk],
        )
        for person in people
    ]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.holder_id))


def payout_batches_of(viewer: Any, *, issuer_id: int) -> QuerySet[PayoutBatch]:
    """An issuer's payout batches, newest first, with their counts and totals. Officers only."""
    gates.require_signed_in(viewer)
    issuer = issuer_get(issuer_id)
    gates.require_officer(viewer, issuer)
    no_account = Q(payouts__holder__payout_account__isnull=True)
    return (
        PayoutBatch.objects.filter(issuer=issuer)
        .annotate(
            payout_count=Count("payouts"),
            total_pence=Coalesce(Sum("payouts__amount_pence"), 0),
            owed_pence=Coalesce(Sum("payouts__amount_pence", filter=Q(payouts__status=PayoutStatus.OWED)), 0),
            without_account=Count("payouts", filter=no_account),
        )
        .order_by("-opened_on", "-id")
    )


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    holder_name: str
    account: PayoutAccount | None


def payouts_of_batch(batch: PayoutBatch) -> list[PayoutRow]:
    """Every payout of a batch, with where it goes (None: the holder has given no account yet)."""
    payouts = (
        Payout.objects.filter(batch=batch)
        .select_related("holder__profile", "holder__payout_account", "holding__issue")
        .order_by("id")
    )
    rows = []
    for payout in payouts:
        holder = payout.holder
        profile = getattr(holder, "profile", None)
        rows.append(
            PayoutRow(
                payout=payout,
                holder_name=profile.full_name if profile else holder.get_username(),
                account=getattr(holder, "payout_account", None),
            )
        )
    return rows


def payout_account_of(user: Any) -> PayoutAccount | None:
    """Where a resident's payouts go, if they have said."""
    return PayoutAccount.objects.filter(user=user).first()


def redemption_requests_of_holder(user: Any) -> QuerySet[RedemptionRequest]:
    """A person's own requests for early repayment, newest first."""
    return (
        RedemptionRequest.objects.filter(holding__holder=user)
        .select_related("holding__issue")
        .order_by("-id")
    )


def coupon_dates_of(issue: Any) -> list[dt.date]:
    """An allotted issue's coupon dates (the periods' ends), for the officer to pick a run from."""
    if issue.allotted_on is None:
        return []
    return [period.end for period in schedule_of(issue)]


def redemption_requests_of_issue(issue: Any, *, actor: Any) -> list[RedemptionRequest]:
    """Requests for early repayment from an issue's holders, pending first then newest. They name
    holders: the register's readers only."""
    gates.require_register_reader(actor, issue.issuer_id)
    return list(
        RedemptionRequest.objects.filter(holding__issue=issue)
        .select_related("holding__holder__profile")
        .order_by("-status", "-id")  # "pending" sorts after "declined" and "approved"
    )
