"""Fixtures for the web pages' tests: an offer opened by its officer, as the pages see it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

WEB_TERMS = {
    "name": "Citylife Money-Back Bond",
    "description": "Five-year bonds for the Kelham Island community kitchen and workshop.",
    "currency": "GBP",
    "coupon_rate_percent": Decimal("3.00"),
    "term_months": 60,
    "interest_frequency": "annual",
    "day_count": "act_365f",
    "min_subscription_pence": 100_00,
    "max_subscription_pence": 5_000_00,
    "min_raise_pence": 500_00,
    "max_raise_pence": 20_000_00,
    "eligible_postcode_prefixes": [],
    "cooling_off_days": 14,
    "notice_days": 90,
}


@pytest.fixture
def open_issue(db):
    """`open_issue(issuer, officer, **terms)`: an issue created and opened through the services."""
    from investments.services import issues as issue_services

    def make(issuer, officer, *, open_it: bool = True, **overrides):
        now = timezone.now()
        terms = {
            **WEB_TERMS,
            "opens_at": now - dt.timedelta(days=1),
            "closes_at": now + dt.timedelta(days=30),
            **overrides,
        }
        issue = issue_services.issue_create(actor=officer, issuer=issuer, **terms)
        if open_it:
            issue = issue_services.issue_open(actor=officer, issue_id=issue.pk)
        return issue

    return make
