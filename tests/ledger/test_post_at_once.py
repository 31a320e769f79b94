"""The common post in one statement (PostgreSQL): the same entries, chain and guarantees as the
step-by-step path, which still does an issuer's first post and an account's first use."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg.pq import TransactionStatus

from bondplatform.errors import Conflict
from ledger.canonical import chain_hash, entry_canonical_bytes
from ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerHead
from ledger.selectors import ledger_head
from ledger.services import EntrySpec, Posting, entries_post, entry_post
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db

# Texts that an encoder split around the sequence could trip on.
AWKWARD = [
    ',"sequence":0,"v":1,"value_date":"2025-04-01"}',
    'a quote " a backslash \\ and {curly,braces}',
    "Zoë paid £250 💷",
    "tab\tnewline\nend",
]


@pytest.fixture
def started(society, pay_in):
    """The society's ledger after its first post: the head row and both pay_in accounts exist."""
    pay_in(society, "first")
    return society


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_post_to_a_started_ledger_is_one_statement_committed_by_itself(started, pay_in):
    with CaptureQueriesContext(connection) as captured:
        entry = pay_in(started, "second")

    assert len(captured) == 1
    # Nothing left open: the statement was its own transaction, and it committed.
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert ledger_head(issuer=started) == (2, entry.hash)
    assert ledger_verify(started).valid


def test_the_entry_returned_is_the_entry_stored(started, pay_in):
    entry = pay_in(started, "second", 4_321, description="Second subscription")

    stored = LedgerEntry.objects.get(pk=entry.pk)
    for field in LedgerEntry._meta.concrete_fields:
        assert getattr(entry, field.attname) == getattr(stored, field.attname), field.name
    assert entry.sequence == 2 and not entry._state.adding
    assert entry.reverses is None


@pytest.mark.parametrize("description", AWKWARD)
def test_awkward_descriptions_hash_to_the_canonical_bytes_the_verifier_reads(started, pay_in, description):
    previous = LedgerEntry.objects.get(issuer=started, sequence=1)
    entry = pay_in(started, "second", 100, description=description)

    stored = LedgerEntry.objects.get(pk=entry.pk)
    canonical = entry_canonical_bytes(
        issuer_id=started.pk,
        sequence=2,
        kind="subscription_payment",
        value_date=stored.value_date,
        description=description,
        idempotency_key="second",
        reverses_sequence=None,
        recorded_at=stored.recorded_at,
        postings=[("cash_at_bank", "GBP", 100), ("subscriptions_held", "GBP", -100)],
    )
    assert stored.description == description
    assert stored.prev_hash == previous.hash
    assert stored.hash == chain_hash(previous.hash, canonical) == entry.hash
    assert ledger_verify(started).valid


def test_a_callers_transaction_that_rolls_back_takes_the_posts_with_it(started, pay_in):
    head = ledger_head(issuer=started)

    with pytest.raises(RuntimeError), transaction.atomic():
        pay_in(started, "second")
        pay_in(started, "third")
        raise RuntimeError("the caller fails after posting")

    assert LedgerEntry.objects.filter(issuer=started).count() == 1
    assert ledger_head(issuer=started) == head
    assert pay_in(started, "second").sequence == 2
    assert ledger_verify(started).valid


def test_an_accounts_first_use_on_a_started_ledger_creates_it_and_chains(started, pay_in, value_date):
    several = entry_post(
        issuer=started,
        kind=EntryKind.ADJUSTMENT,
        value_date=value_date,
        description="New accounts, two currencies",
        idempotency_key="second",
        postings=[
            Posting("community_fund", 700),
            Posting("cash_at_bank", -700),
            Posting("cash_at_bank", 9, "EUR"),
            Posting("bond_principal:7", -9, "EUR"),
        ],
    )
    after = pay_in(started, "third")

    assert (several.sequence, after.sequence) == (2, 3)
    codes = set(LedgerAccount.objects.filter(issuer=started).values_list("code", flat=True))
    assert codes == {"cash_at_bank", "subscriptions_held", "community_fund", "bond_principal:7"}
    legs = several.postings.order_by("position").values_list("account__code", "currency", "amount_pence")
    assert list(legs) == [
        ("community_fund", "GBP", 700),
        ("cash_at_bank", "GBP", -700),
        ("cash_at_bank", "EUR", 9),
        ("bond_principal:7", "EUR", -9),
    ]
    assert ledger_verify(started).valid


def test_a_replay_on_a_started_ledger_returns_the_first_entry_and_a_misuse_is_refused(started, pay_in):
    first = pay_in(started, "second", 500)

    assert pay_in(started, "second", 500).pk == first.pk
    with pytest.raises(Conflict) as refused:
        pay_in(started, "second", 501)
    assert refused.value.code == "idempotency_key_reused"
    assert ledger_head(issuer=started) == (2, first.hash)


@pytest.mark.postgres
@pytest.mark.parametrize("threshold", [0, None], ids=["prepared-at-once", "never-prepared"])
def test_prepared_or_not_the_post_is_the_same(started, pay_in, threshold):
    connection.ensure_connection()
    raw = connection.connection
    kept, raw.prepare_threshold = raw.prepare_threshold, threshold
    try:
        entries = [pay_in(started, f"k{n}", 100 + n) for n in range(3)]
    finally:
        raw.prepare_threshold = kept

    assert [e.sequence for e in entries] == [2, 3, 4]
    assert ledger_verify(started).valid


def test_the_head_keeps_the_last_entrys_time_whichever_path_posted_it(society, pay_in, value_date):
    def head_time():
        return LedgerHead.objects.get(issuer=society).last_recorded_at

    first = pay_in(society, "first")  # step by step
    assert head_time() == first.recorded_at
    second = pay_in(society, "second")  # one statement on PostgreSQL
    assert head_time() == second.recorded_at
    batch = entries_post(
        issuer=society,
        entries=[
            EntrySpec(
                EntryKind.ADJUSTMENT,
                value_date,
                f"batch {n}",
                f"b{n}",
                [Posting("cash_at_bank", 1), Posting("subscriptions_held", -1)],
            )
            for n in range(2)
        ],
    )
    assert head_time() == batch[-1].recorded_at


def test_a_clock_that_steps_back_never_records_an_entry_before_the_one_it_follows(society, pay_in):
    later = dt.datetime(2025, 4, 2, 9, 30, tzinfo=dt.UTC)
    with time_machine.travel(later, tick=False):
        pay_in(society, "first")
        pay_in(society, "second")
    with time_machine.travel(later - dt.timedelta(days=1), tick=False):
        third = pay_in(society, "third")

    assert third.recorded_at == later
    assert LedgerEntry.objects.get(pk=third.pk).recorded_at == later
    assert ledger_verify(society).valid
