"""Fixtures for the bond tests: the books of an issuer, and a bond issue as a client would post it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from ledger.models import LedgerPosting


@pytest.fixture
def balances():
    """balances(issuer) -> the issuer's nonzero account balances, {code: signed pence} (debit positive)."""

    def read(issuer) -> dict[str, int]:
        rows = (
            LedgerPosting.objects.filter(account__issuer=issuer)
            .values_list("account__code")
            .annotate(total=Sum("amount_pence"))
            .order_by()
        )
        return {code: total for code, total in rows if total}

    return read


@pytest.fixture
def terms_body():
    """terms_body(issuer, **overrides) -> a valid POST issues/ body for `issuer`, as a client would send it."""

    def body(issuer, **overrides) -> dict:
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

    return body
