"""The database itself refuses to change the ledger, whatever Python does."""

from __future__ import annotations

import importlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from ledger.models import (
    LedgerAccount,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
)
from ledger.verify import ledger_verify

ENTRY = LedgerEntry._meta.db_table
POSTING = LedgerPosting._meta.db_table
ACCOUNT = LedgerAccount._meta.db_table
CHECKPOINT = LedgerCheckpoint._meta.db_table


class MigrationEditor:
    """Just enough of a schema editor to run 0002's RunPython functions inside a test's transaction."""

    connection = connection

    def execute(self, sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def trigger_migration():
    module = importlib.import_module("investments.migrations.0002_ledger_triggers")
    return module.Migration.operations[0]


@pytest.fixture
def posted(society, pay_in):
    entry = pay_in(society, "k1")
    LedgerCheckpoint.objects.create(
        issuer=society, sequence=1, hash=entry.hash, signed_at=timezone.now(), key_id="k" * 32, signature="s"
    )
    return entry


def _refused(sql: str, params=()):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute(sql, list(params))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {ENTRY} SET description = 'edited'",
        f"UPDATE {ENTRY} SET hash = prev_hash",
        f"DELETE FROM {ENTRY}",
        f"UPDATE {POSTING} SET amount_pence = amount_pence * 2",
        f"DELETE FROM {POSTING}",
        f"UPDATE {ACCOUNT} SET code = 'community_fund' WHERE code = 'cash_at_bank'",
        f"DELETE FROM {ACCOUNT}",
        f"UPDATE {CHECKPOINT} SET sequence = 2",
        f"DELETE FROM {CHECKPOINT}",
    ],
)
def test_raw_sql_updates_and_deletes_are_refused(posted, sql):
    _refused(sql)
    assert ledger_verify(posted.issuer_id).valid


@pytest.mark.django_db
def test_queryset_update_and_delete_are_refused(posted):
    for queryset, change in [
        (LedgerEntry.objects.all(), {"description": "edited"}),
        (LedgerPosting.objects.all(), {"amount_pence": 1}),
        (LedgerAccount.objects.all(), {"code": "tax_payable"}),
        (LedgerCheckpoint.objects.all(), {"hash": "0" * 64}),
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            queryset.update(**change)
    for queryset in [LedgerPosting.objects.all(), LedgerCheckpoint.objects.all()]:
        with pytest.raises(IntegrityError), transaction.atomic():
            queryset.delete()
    # Entries and accounts are protected by their postings before SQL is even sent.
    with pytest.raises((IntegrityError, ProtectedError)), transaction.atomic():
        LedgerEntry.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        posted.description = "edited"
        posted.save()
    assert LedgerEntry.objects.get().description == "Subscription received"
    assert ledger_verify(posted.issuer_id).valid


@pytest.mark.django_db
def test_the_head_row_stays_writable_and_a_wrong_head_is_reported(posted):
    LedgerHead.objects.filter(issuer_id=posted.issuer_id).update(last_sequence=5)
    result = ledger_verify(posted.issuer_id)
    assert not result.valid and result.first_invalid_sequence == 2


@pytest.mark.django_db
def test_the_reverse_migration_drops_the_triggers_and_the_forward_one_restores_them(posted):
    operation = trigger_migration()
    operation.reverse_code(None, MigrationEditor())
    with connection.cursor() as c:
        c.execute(f"UPDATE {ENTRY} SET description = 'edited by a dropped guard'")
    operation.code(None, MigrationEditor())
    _refused(f"UPDATE {ENTRY} SET description = 'again'")
    result = ledger_verify(posted.issuer_id)
    assert not result.valid and result.first_invalid_sequence == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE needs no pending deferred checks: commit first
@pytest.mark.parametrize("table", [ENTRY, POSTING, ACCOUNT, CHECKPOINT])
def test_truncate_is_refused_on_postgresql(posted, table):
    _refused(f"TRUNCATE {table} CASCADE")
    assert LedgerEntry.objects.count() == 1


def _raw_entry(cursor, issuer_id: int, sequence: int) -> int:
    cursor.execute(
        f"INSERT INTO {ENTRY} (issuer_id, sequence, kind, value_date, description, idempotency_key,"
        " recorded_at, prev_hash, hash) VALUES (%s, %s, 'adjustment', '2025-01-01', 'raw', %s, now(), %s, %s)"
        " RETURNING id",
        [issuer_id, sequence, f"raw-{sequence}", "0" * 64, "f" * 64],
    )
    return cursor.fetchone()[0]


def _raw_posting(cursor, entry_id: int, account_id: int, position: int, amount: int, currency: str = "GBP"):
    cursor.execute(
        f"INSERT INTO {POSTING} (entry_id, account_id, position, amount_pence, currency) VALUES (%s, %s, %s, %s, %s)",
        [entry_id, account_id, position, amount, currency],
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "legs",
    [
        [],
        [100],
        [100, -99],
        [100, -100, 5],
    ],
    ids=["no-postings", "one-posting", "unbalanced", "three-unbalanced"],
)
def test_an_unbalanced_entry_inserted_with_raw_sql_fails_at_commit(society, legs, pay_in):
    pay_in(society, "k1")
    account_id = LedgerAccount.objects.get(issuer=society, code="cash_at_bank").pk
    statements_done = False
    with pytest.raises(IntegrityError, match="unbalanced or has fewer than 2 postings"):
        with transaction.atomic(), connection.cursor() as cursor:
            entry_id = _raw_entry(cursor, society.pk, 2)
            for position, amount in enumerate(legs):
                _raw_posting(cursor, entry_id, account_id, position, amount)
            statements_done = True  # every INSERT was accepted: the refusal comes at COMMIT
    assert statements_done
    assert LedgerEntry.objects.filter(issuer=society).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_balanced_entry_inserted_with_raw_sql_commits_but_fails_verification(society, pay_in):
    pay_in(society, "k1")
    account_id = LedgerAccount.objects.get(issuer=society, code="cash_at_bank").pk
    with transaction.atomic(), connection.cursor() as cursor:
        entry_id = _raw_entry(cursor, society.pk, 2)
        _raw_posting(cursor, entry_id, account_id, 0, 100, "EUR")
        _raw_posting(cursor, entry_id, account_id, 1, -100, "EUR")
    result = ledger_verify(society)
    assert not result.valid and result.first_invalid_sequence == 2
