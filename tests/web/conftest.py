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


@pytest.fixture
def allotted_holding(society, officer, resident, open_issue):
    """`allotted_holding(allotted_on=None, amount_pence=1_000_00)`: the resident's paid subscription
    to an issue opened over a year ago, allotted (on `allotted_on`, default today)."""
    from investments.models import Holding
    from investments.payments.receipts import receipt_record
    from investments.services import issues as issue_services
    from investments.services.subscriptions import subscription_create

    def make(*, allotted_on=None, amount_pence=1_000_00):
        now = timezone.now()
        issue = open_issue(society, officer, min_raise_pence=100_00, opens_at=now - dt.timedelta(days=800))
        subscription, _ = subscription_create(
            actor=resident, issue_id=issue.pk, amount_pence=amount_pence, payment_method="bank_transfer"
        )
        receipt_record(
            actor=officer,
            subscription_id=subscription.pk,
            amount_pence=amount_pence,
            reference=subscription.reference,
            received_on=subscription.created_at.date(),
            idempotency_key=f"web-{subscription.pk}",
        )
        issue_services.issue_close(actor=officer, issue_id=issue.pk)
        issue_services.issue_allot(actor=officer, issue_id=issue.pk, allotted_on=allotted_on)
        return Holding.objects.get(subscription=subscription)

    return make
