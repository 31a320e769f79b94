"""Helpers for bond-issue tests: a Citylife-style issue opened by its officer, and the books."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from investments.services import issues as issue_services
from ledger.models import LedgerPosting

CITYLIFE_TERMS = {
    "name": "Citylife Money-Back Bond 2026",
    "description": "Five-year money-back bonds for local jobs and housing.",
    "currency": "GBP",
    "coupon_rate_percent": Decimal("0.00"),
    "term_months": 60,
    "interest_frequency": "at_maturity",
    "day_count": "act_365f",
    "min_subscription_pence": 100_00,
    "max_subscription_pence": 5_000_00,
    "min_raise_pence": 500_00,
    "max_raise_pence": 20_000_00,
    "eligible_postcode_prefixes": [],
    "cooling_off_days": 14,
    "notice_days": 90,
}


def make_issue(issuer, officer, *, open_it: bool = True, **overrides):
    now = timezone.now()
    terms = {
        **CITYLIFE_TERMS,
        "opens_at": now - dt.timedelta(days=1),
        "closes_at": now + dt.timedelta(days=30),
        **overrides,
    }
    issue = issue_services.issue_create(actor=officer, issuer=issuer, **terms)
    if open_it:
        issue = issue_services.issue_open(actor=officer, issue_id=issue.pk)
    return issue


def balances(issuer) -> dict[str, int]:
    """The issuer's nonzero account balances, {code: signed pence} (debit positive)."""
    rows = (
        LedgerPosting.objects.filter(account__issuer=issuer)
        .values_list("account__code")
        .annotate(total=Sum("amount_pence"))
        .order_by()
    )
    return {code: total for code, total in rows if total}


def terms_body(issuer, **overrides) -> dict:
    """A valid POST issues/ body for `issuer`, as a client would send it."""
    now = timezone.now()
    return {
        "issuer": issuer.pk,
        "name": "Community Hall Bond",
        "coupon_rate_percent": "1.00",
        "term_months": 12,
        "interest_frequency": "annual",
        "min_subscription": "100.00",
        "max_subscription": "5000.00",
        "min_raise": "500.00",
        "max_raise": "20000.00",
        "opens_at": now.isoformat(),
        "closes_at": (now + dt.timedelta(days=1)).isoformat(),
        **overrides,
    }
