"""Fixtures for the ledger tests."""

from __future__ import annotations

import pytest

from tests.ledger.ledger_helpers import pay_in


@pytest.fixture
def signing_key(settings):
    settings.LEDGER_SIGNING_KEY = "07" * 32


@pytest.fixture
def long_ledger(society, signing_key):
    """The society's books with 40 subscription payments: 40 entries, 80 postings."""
    for number in range(1, 41):
        pay_in(society, f"bank:{number}", 100 * number, description=f"Subscription {number} received")
    return society
