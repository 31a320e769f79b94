"""Fixtures for the ledger tests: an issuer of its own, money paid in, tampering as an attacker
would, and a long ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from bondplatform.append_only import append_only_guards_lifted
from issuers.models import Issuer
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

VALUE_DATE = dt.date(2025, 4, 1)


@pytest.fixture
def value_date() -> dt.date:
    """The value date `pay_in` posts on."""
    return VALUE_DATE


@pytest.fixture
def new_issuer():
    """new_issuer(name="Kelham Island Co-op") -> a new co-operative society, with a chain of its own."""

    def make(name: str = "Kelham Island Co-op") -> Issuer:
        return Issuer.objects.create(
            name=name,
            legal_form="cooperative_society",
            asset_lock_basis="statutory",
            max_interest_rate_percent=Decimal("5.00"),
        )

    return make


@pytest.fixture
def pay_in():
    """pay_in(issuer, key, pence=25_000, *, description=...) -> the entry for a resident's subscription
    money arriving at the bank: Dr cash at bank, Cr subscriptions held."""

    def post(issuer, key: str, pence: int = 25_000, *, description: str = "Subscription received"):
        return entry_post(
            issuer=issuer,
            kind=EntryKind.SUBSCRIPTION_PAYMENT,
            value_date=VALUE_DATE,
            description=description,
            idempotency_key=key,
            postings=[Posting("cash_at_bank", pence), Posting("subscriptions_held", -pence)],
        )

    return post


@pytest.fixture
def tamper():
    """tamper(sql, params=()) -> None: run SQL with the ledger's triggers lifted, as an attacker with
    database access could."""

    def run(sql: str, params=()) -> None:
        # Fire PostgreSQL's deferred balance checks for what was posted so far,
        # while it is still balanced: the tampering is the verifier's to find,
        # not the test transaction's final constraint check.
        connection.check_constraints()
        with append_only_guards_lifted(), connection.cursor() as cursor:
            cursor.execute(sql, list(params))

    return run


@pytest.fixture
def long_ledger(society, signing_key, pay_in):
    """The society's books with 40 subscription payments: 40 entries, 80 postings."""
    for number in range(1, 41):
        pay_in(society, f"bank:{number}", 100 * number, description=f"Subscription {number} received")
    return society
