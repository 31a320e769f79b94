"""Fixtures for the bond tests: a bond issue as a client would post it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


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
