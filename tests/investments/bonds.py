"""Helpers for bond-issue tests: a Citylife-style issue, opened by its officer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from investments.services import issues as issue_services

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
