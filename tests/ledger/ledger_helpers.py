"""Small helpers shared by the ledger tests."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

from django.db import connection

from bondplatform.append_only import append_only_guards_lifted
from ledger.models import EntryKind
from ledger.services import Posting, entry_post

VALUE_DATE = dt.date(2025, 4, 1)


def new_issuer(name: str = "Kelham Island Co-op"):
    from issuers.models import Issuer

    return Issuer.objects.create(
        name=name,
        legal_form="cooperative_society",
        asset_lock_basis="statutory",
        max_interest_rate_percent=Decimal("5.00"),
    )


def pay_in(issuer, key: str, pence: int = 25_000, *, description: str = "Subscription received"):
    """A resident's subscription money arrives at the bank: Dr cash at bank, Cr subscriptions held."""
    return entry_post(
        issuer=issuer,
        kind=EntryKind.SUBSCRIPTION_PAYMENT,
        value_date=VALUE_DATE,
        description=description,
        idempotency_key=key,
        postings=[Posting("cash_at_bank", pence), Posting("subscriptions_held", -pence)],
    )


def tamper(sql: str, params=()) -> None:
    """Run SQL with the ledger's triggers lifted, as an attacker with database access could."""
    # Fire PostgreSQL's deferred balance checks for what was posted so far,
    # while it is still balanced: the tampering is the verifier's to find,
    # not the test transaction's final constraint check.
    connection.check_constraints()
    with append_only_guards_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, list(params))


class MigrationEditor:
    """Just enough of a schema editor to run 0002's RunPython functions inside a test's transaction."""

    connection = connection

    def execute(self, sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def trigger_migration():
    module = importlib.import_module("investments.migrations.0002_ledger_triggers")
    return module.Migration.operations[0]
