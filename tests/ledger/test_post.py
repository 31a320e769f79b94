"""Posting to the ledger: a worked example, validation, idempotency and reversals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from bondplatform.errors import BadInput, Conflict
from ledger.canonical import GENESIS_HASH, chain_hash, entry_canonical_bytes
from ledger.models import (
    AccountType,
    EntryKind,
    LedgerAccount,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
    Side,
)
from ledger.selectors import account_balances, entry_list, ledger_head, trial_balance
from ledger.services import Posting, entry_post, entry_reverse
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db


def test_worked_example_a_subscription_is_paid_allotted_and_earns_interest(society, pay_in):
    # Rita pays £250 by bank transfer; it is held until the issue is allotted.
    paid = pay_in(society, "bank:stmt-2025-04-01:1", 25_000)
    # The issue allots: the money becomes bond principal of holding 7.
    allotted = entry_post(
        issuer=society,
        kind=EntryKind.ALLOTMENT,
        value_date=dt.date(2025, 5, 1),
        description="Allotment of holding 7",
        idempotency_key="allot:holding:7",
        postings=[Posting("subscriptions_held", 25_000), Posting("bond_principal:7", -25_000)],
    )
    # A year's interest at 4 % accrues to the holding.
    accrued = entry_post(
        issuer=society,
        kind=EntryKind.INTEREST_ACCRUAL,
        value_date=dt.date(2026, 5, 1),
        description="Interest 2025-05-01 to 2026-05-01, holding 7",
        idempotency_key="interest:1:2026-05-01:7",
        postings=[Posting("interest_expense", 1_000), Posting("interest_payable:7", -1_000)],
    )

    assert [paid.sequence, allotted.sequence, accrued.sequence] == [1, 2, 3]
    assert paid.prev_hash == GENESIS_HASH
    assert allotted.prev_hash == paid.hash and accrued.prev_hash == allotted.hash
    balances = {(b.account, b.currency): b.balance_pence for b in account_balances(issuer=society)}
    assert balances == {
        ("bond_principal:7", "GBP"): -25_000,
        ("cash_at_bank", "GBP"): 25_000,
        ("interest_expense", "GBP"): 1_000,
        ("interest_payable:7", "GBP"): -1_000,
        ("subscriptions_held", "GBP"): 0,
    }
    tb = trial_balance(issuer=society)
    assert tb.balanced and tb.totals == {"GBP": (26_000, 26_000)}
    assert ledger_head(issuer=society) == (3, accrued.hash)
    assert ledger_verify(society).valid


def test_the_stored_hash_is_sha256_of_prev_hash_and_the_canonical_bytes(society, pay_in, value_date):
    entry = pay_in(society, "k1", 12_345, description="Café payment")  # non-ASCII is escaped
    stored = LedgerEntry.objects.get(pk=entry.pk)
    canonical = entry_canonical_bytes(
        issuer_id=society.pk,
        sequence=1,
        kind="subscription_payment",
        value_date=value_date,
        description="Café payment",
        idempotency_key="k1",
        reverses_sequence=None,
        recorded_at=stored.recorded_at,
        postings=[("cash_at_bank", "GBP", 12_345), ("subscriptions_held", "GBP", -12_345)],
    )
    assert b"Caf\\u00e9" in canonical and b" " not in canonical.replace(b"Caf\\u00e9 payment", b"")
    assert stored.hash == chain_hash(GENESIS_HASH, canonical) == entry.hash
    assert stored.recorded_at == entry.recorded_at


def test_accounts_are_created_on_first_use_with_their_type_from_the_chart(society, pay_in):
    pay_in(society, "k1")
    accounts = {a.code: (a.account_type, a.normal_side) for a in LedgerAccount.objects.filter(issuer=society)}
    assert accounts == {
        "cash_at_bank": (AccountType.ASSET, Side.DEBIT),
        "subscriptions_held": (AccountType.LIABILITY, Side.CREDIT),
    }
    pay_in(society, "k2")
    assert LedgerAccount.objects.filter(issuer=society).count() == 2


def test_each_issuer_has_its_own_chain_and_accounts(society, cic, pay_in):
    a = pay_in(society, "same-key")
    b = pay_in(cic, "same-key")
    assert (a.sequence, b.sequence) == (1, 1)
    assert a.hash != b.hash  # the issuer id is part of what is hashed
    assert LedgerAccount.objects.filter(code="cash_at_bank").count() == 2
    assert ledger_verify(society).valid and ledger_verify(cic).valid


@pytest.mark.parametrize(
    ("postings", "code"),
    [
        ([Posting("cash_at_bank", 100)], "too_few_postings"),
        ([], "too_few_postings"),
        ([Posting("cash_at_bank", 100), Posting("subscriptions_held", -99)], "unbalanced_entry"),
        ([Posting("cash_at_bank", 0), Posting("subscriptions_held", 0)], "invalid_amount"),
        ([Posting("cash_at_bank", 1.5), Posting("subscriptions_held", -1.5)], "invalid_amount"),
        ([Posting("cash_at_bank", True), Posting("subscriptions_held", -1)], "invalid_amount"),
        ([Posting("cash_at_bank", 2**63), Posting("subscriptions_held", -(2**63))], "invalid_amount"),
        (
            [Posting("cash_at_bank", 100, "gbp"), Posting("subscriptions_held", -100, "gbp")],
            "invalid_currency",
        ),
        ([Posting("cash_at_bank", 100, "GBPX"), Posting("subscriptions_held", -100)], "invalid_currency"),
        # A trailing newline slips past a regular expression's `$`: it must not reach the database.
        (
            [Posting("cash_at_bank", 100, "GBP\n"), Posting("subscriptions_held", -100, "GBP\n")],
            "invalid_currency",
        ),
        ([Posting("cash_at_bank\n", 100), Posting("subscriptions_held", -100)], "unknown_account"),
        ([Posting("petty_cash", 100), Posting("subscriptions_held", -100)], "unknown_account"),
        ([Posting("bond_principal", 100), Posting("cash_at_bank", -100)], "unknown_account"),
        ([Posting("bond_principal:Rita Resident", 100), Posting("cash_at_bank", -100)], "unknown_account"),
        ([Posting("cash_at_bank", 100), Posting("cash_at_bank", -100, "EUR")], "unbalanced_entry"),
        ([("cash_at_bank", 100), ("subscriptions_held", -100)], "invalid_posting"),
    ],
)
def test_invalid_postings_are_refused_before_anything_is_written(society, postings, code, value_date):
    with pytest.raises(BadInput) as refused:
        entry_post(
            issuer=society,
            kind=EntryKind.ADJUSTMENT,
            value_date=value_date,
            description="bad",
            idempotency_key="bad",
            postings=postings,
        )
    assert refused.value.code == code
    assert not LedgerEntry.objects.exists() and not LedgerAccount.objects.exists()
    assert not LedgerHead.objects.exists()


def test_balanced_per_currency_across_several_currencies_is_accepted(society, value_date):
    entry = entry_post(
        issuer=society,
        kind=EntryKind.ADJUSTMENT,
        value_date=value_date,
        description="Two currencies, each balanced",
        idempotency_key="fx",
        postings=[
            Posting("cash_at_bank", 100, "GBP"),
            Posting("cash_at_bank", 200, "EUR"),
            Posting("community_fund", -100, "GBP"),
            Posting("community_fund", -200, "EUR"),
        ],
    )
    assert entry.postings.count() == 4
    assert trial_balance(issuer=society).totals == {"EUR": (200, 200), "GBP": (100, 100)}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("kind", "gift", "invalid_kind"),
        ("description", "", "invalid_description"),
        ("description", "x" * 501, "invalid_description"),
        ("idempotency_key", "", "invalid_idempotency_key"),
        ("idempotency_key", "nul\x00", "invalid_idempotency_key"),
        ("value_date", "2025-04-01", "invalid_value_date"),
        ("value_date", dt.datetime(2025, 4, 1, tzinfo=dt.UTC), "invalid_value_date"),
    ],
)
def test_invalid_entry_fields_are_refused(society, field, value, code, value_date):
    args = {
        "issuer": society,
        "kind": EntryKind.ADJUSTMENT,
        "value_date": value_date,
        "description": "ok",
        "idempotency_key": "ok",
        "postings": [Posting("cash_at_bank", 1), Posting("community_fund", -1)],
    }
    args[field] = value
    with pytest.raises(BadInput) as refused:
        entry_post(**args)
    assert refused.value.code == code


def test_the_same_key_and_content_returns_the_original_entry(society, pay_in):
    first = pay_in(society, "stripe:evt_1")
    again = pay_in(society, "stripe:evt_1")
    assert again.pk == first.pk and again.hash == first.hash
    assert LedgerEntry.objects.count() == 1
    assert ledger_head(issuer=society) == (1, first.hash)


@pytest.mark.parametrize(
    "change",
    [
        {"pence": 25_001},
        {"description": "Something else"},
    ],
)
def test_the_same_key_with_different_content_is_refused(society, change, pay_in):
    pay_in(society, "stripe:evt_1", 25_000, description="Subscription received")
    with pytest.raises(Conflict) as refused:
        pay_in(
            society,
            "stripe:evt_1",
            change.get("pence", 25_000),
            description=change.get("description", "Subscription received"),
        )
    assert refused.value.code == "idempotency_key_reused"
    assert refused.value.status_code == 409
    assert LedgerEntry.objects.count() == 1


def test_a_reversal_flips_every_posting_and_references_the_original(society, pay_in, value_date):
    original = pay_in(society, "k1", 25_000)
    reversal = entry_reverse(
        entry=original, value_date=value_date, description="Posted twice", idempotency_key="r1"
    )
    assert reversal.kind == EntryKind.REVERSAL and reversal.reverses_id == original.pk
    legs = list(reversal.postings.order_by("position").values_list("account__code", "amount_pence"))
    assert legs == [("cash_at_bank", -25_000), ("subscriptions_held", 25_000)]
    assert all(b.balance_pence == 0 for b in account_balances(issuer=society))
    # Idempotent like any post; but a second, different reversal is refused.
    again = entry_reverse(
        entry=original, value_date=value_date, description="Posted twice", idempotency_key="r1"
    )
    assert again.pk == reversal.pk
    with pytest.raises(Conflict) as refused:
        entry_reverse(entry=original, value_date=value_date, description="Again", idempotency_key="r2")
    assert refused.value.code == "already_reversed"
    # The reversed entry's sequence is part of the reversal's hash, and the chain verifies.
    result = ledger_verify(society)
    assert result.valid and result.entries_checked == 2


def test_an_entry_is_reversed_only_in_its_own_issuers_ledger(society, cic, pay_in, value_date):
    original = pay_in(society, "k1")
    with pytest.raises(BadInput) as refused:
        entry_post(
            issuer=cic,
            kind=EntryKind.REVERSAL,
            value_date=value_date,
            description="wrong book",
            idempotency_key="r1",
            postings=[Posting("cash_at_bank", -25_000), Posting("subscriptions_held", 25_000)],
            reverses=original,
        )
    assert refused.value.code == "invalid_reversal"


def test_entry_post_joins_the_callers_transaction(society, pay_in):
    with pytest.raises(RuntimeError), transaction.atomic():
        pay_in(society, "k1")
        raise RuntimeError("the caller fails after posting")
    assert not LedgerEntry.objects.exists()
    assert ledger_head(issuer=society) == (0, GENESIS_HASH)
    assert pay_in(society, "k1").sequence == 1


def test_entries_are_listed_in_chain_order_and_filtered_by_value_date(society):
    for day in (3, 1, 2):
        entry_post(
            issuer=society,
            kind=EntryKind.ADJUSTMENT,
            value_date=dt.date(2025, 1, day),
            description=f"day {day}",
            idempotency_key=f"d{day}",
            postings=[Posting("cash_at_bank", day), Posting("community_fund", -day)],
        )
    assert [e.sequence for e in entry_list(issuer=society)] == [1, 2, 3]
    chosen = entry_list(issuer=society, since=dt.date(2025, 1, 2), until=dt.date(2025, 1, 3))
    assert [e.description for e in chosen] == ["day 3", "day 2"]
    assert LedgerPosting.objects.filter(entry__issuer=society).count() == 6
