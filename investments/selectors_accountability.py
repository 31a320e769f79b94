"""Reads for accountability: uses of funds, the participation audit's facts, and an issue's decisions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.db.models import CharField, Min, Q, QuerySet
from django.db.models.functions import Cast

from investments.models import (
    BondIssue,
    Holding,
    InterestRun,
    IssueStatus,
    PayoutBatch,
    RedemptionRequest,
    Refund,
    Subscription,
    SubscriptionStatus,
    UseOfFunds,
)
from investments.participation import InvestorFacts, participation_summarise
from issuers.models import Issuer
from people.postcodes import postcode_matches_prefix

# Money that came in and stayed.
MONEY_IN = (SubscriptionStatus.PAID, SubscriptionStatus.ALLOTTED)


def uses_of_funds_of(issue: BondIssue) -> QuerySet[UseOfFunds]:
    return UseOfFunds.objects.filter(issue=issue).select_related("ledger_entry").order_by("spent_on", "id")


def issues_counted_in_participation(issuer: Issuer) -> QuerySet[BondIssue]:
    """The issuer's offers the participation audit counts (sterling ones but drafts), oldest first."""
    return (
        BondIssue.objects.filter(issuer=issuer, currency="GBP")
        .exclude(status=IssueStatus.DRAFT)
        .order_by("opens_at", "id")
    )


def issuer_area(issuer: Issuer) -> list[str]:
    """The postcode prefixes the issuer's offers have been open to, together (sorted)."""
    prefixes: set[str] = set()
    for chosen in (
        BondIssue.objects.filter(issuer=issuer)
        .exclude(status=IssueStatus.DRAFT)
        .values_list("eligible_postcode_prefixes", flat=True)
    ):
        prefixes.update(chosen or [])
    return sorted(prefixes)


def participation_facts(issuer: Issuer) -> list[InvestorFacts]:
    """One row per investor with money in the issuer's (sterling) issues; names never leave here."""
    area = issuer_area(issuer)
    subscriptions = (
        Subscription.objects.filter(issue__issuer=issuer, issue__currency="GBP", status__in=MONEY_IN)
        .exclude(issue__status=IssueStatus.DRAFT)
        .select_related("investor__profile")
        .order_by("investor_id", "id")
    )
    totals: dict[int, int] = defaultdict(int)
    postcodes: dict[int, str] = {}
    first_here: dict[int, dt.datetime] = {}
    for subscription in subscriptions:
        investor = subscription.investor_id
        profile = getattr(subscription.investor, "profile", None)
        postcodes[investor] = profile.postcode if profile else ""
        totals[investor] += subscription.amount_pence
        first_here[investor] = min(first_here.get(investor, subscription.created_at), subscription.created_at)
    first_anywhere = dict(
        Subscription.objects.filter(investor_id__in=list(totals), status__in=MONEY_IN)
        .values_list("investor_id")
        .annotate(first=Min("created_at"))
        .order_by()
    )
    return [
        InvestorFacts(
            postcode=postcodes[investor],
            total_pence=total,
            first_time=first_anywhere.get(investor) == first_here[investor],
            local=any(postcode_matches_prefix(postcodes[investor], p) for p in area) if area else None,
        )
        for investor, total in totals.items()
    ]


def participation_of(issuer: Issuer) -> dict:
    return {
        "issuer": issuer.pk,
        "currency": "GBP",
        "area": issuer_area(issuer),
        **participation_summarise(participation_facts(issuer)),
    }


# --- which decisions concern an issue -------------------------------------------------
#
# A decision names its subject by model name and id. These are the subjects the
# services judge that belong to one issue, each with the rows of that issue; a
# decision with no subject (a distribution: an issuer's, not an issue's) or with
# another is not any one issue's. tests/compliance/test_decisions_api.py fails if a
# service starts recording decisions about a subject missing here.


def _ids_as_text(rows: QuerySet) -> QuerySet:
    return rows.annotate(as_text=Cast("pk", CharField())).values("as_text")


ISSUE_SUBJECTS: dict[str, Callable[[int], QuerySet]] = {
    "bondissue": lambda issue_id: BondIssue.objects.filter(pk=issue_id),
    "subscription": lambda issue_id: Subscription.objects.filter(issue_id=issue_id),
    "refund": lambda issue_id: Refund.objects.filter(subscription__issue_id=issue_id),
    "holding": lambda issue_id: Holding.objects.filter(issue_id=issue_id),
    "interestrun": lambda issue_id: InterestRun.objects.filter(issue_id=issue_id),
    "redemptionrequest": lambda issue_id: RedemptionRequest.objects.filter(holding__issue_id=issue_id),
    # A day's batch may pay holders of several issues: it concerns each of them.
    "payoutbatch": lambda issue_id: PayoutBatch.objects.filter(
        payouts__holding__issue_id=issue_id
    ).distinct(),
}


def decision_subjects_of_issue(issue_id: int) -> Q:
    """The decisions about an issue: about it, or about its subscriptions, holdings, runs and payouts."""
    subjects = Q(pk__in=[])
    for subject_type, rows in ISSUE_SUBJECTS.items():
        subjects |= Q(subject_type=subject_type, subject_id__in=_ids_as_text(rows(issue_id)))
    return subjects
