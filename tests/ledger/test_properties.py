"""Properties of the ledger, for any sequence of valid entries (hypothesis).

Each example starts a fresh issuer, so examples share the test's transaction
without seeing each other's chains.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.canonical import entry_canonical_bytes, entry_canonical_split, format_timestamp
from ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerPosting
from ledger.selectors import trial_balance
from ledger.services import Posting, entry_post
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db

ENTRY = LedgerEntry._meta.db_table
POSTING = LedgerPosting._meta.db_table

CODES = ["cash_at_bank", "stripe_clearing", "subscriptions_held", "bond_principal:1", "interest_payable:2"]
PROPERTY_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def entries(draw):
    """A balanced entry: some legs, then one balancing leg per currency that needs it."""
    legs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CODES),
                st.sampled_from(["GBP", "GBP", "EUR"]),
                st.integers(-(10**12), 10**12).filter(bool),
            ),
            min_size=1,
            max_size=4,
        )
    )
    totals: dict[str, int] = {}
    for _, currency, amount in legs:
        totals[currency] = totals.get(currency, 0) + amount
    for currency, total in totals.items():
        if total:
            legs.append((draw(st.sampled_from(CODES)), currency, -total))
    if len(legs) < 2:
        amount = draw(st.integers(1, 10**9))
        legs += [("cash_at_bank", "GBP", amount), ("community_fund", "GBP", -amount)]
    description = draw(
        st.text(
            st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40
        )
    )
    value_date = draw(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
    return legs, description, value_date


def post_all(issuer, drawn) -> list[LedgerEntry]:
    return [
        entry_post(
            issuer=issuer,
            kind=EntryKind.ADJUSTMENT,
            value_date=value_date,
            description=description,
            idempotency_key=f"e{i}",
            postings=[Posting(code, amount, currency) for code, currency, amount in legs],
        )
        for i, (legs, description, value_date) in enumerate(drawn)
    ]


@PROPERTY_SETTINGS
@given(drawn=st.lists(entries(), min_size=1, max_size=8))
def test_any_valid_entries_keep_every_entry_balanced_and_the_chain_verifiable(drawn, new_issuer):
    issuer = new_issuer()
    posted = post_all(issuer, drawn)

    assert [e.sequence for e in posted] == list(range(1, len(drawn) + 1))
    for entry in posted:
        sums: dict[str, int] = {}
        for currency, amount in entry.postings.values_list("currency", "amount_pence"):
            sums[currency] = sums.get(currency, 0) + amount
        assert set(sums.values()) == {0}
    tb = trial_balance(issuer=issuer)
    assert tb.balanced
    assert {
        currency: sum(r.balance_pence for r in tb.rows if r.currency == currency) for currency in tb.totals
    } == {currency: 0 for currency in tb.totals}
    result = ledger_verify(issuer)
    assert result.valid, result.reason
    assert (result.entries_checked, result.head_sequence, result.head_hash) == (
        len(drawn),
        len(drawn),
        posted[-1].hash,
    )


@PROPERTY_SETTINGS
@given(
    drawn=entries(),
    key=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1),
    sequence=st.integers(1, 2**63 - 1),
    reverses=st.none() | st.integers(1, 2**63 - 1),
    recorded_at=st.datetimes(timezones=st.just(dt.UTC)),
)
def test_the_canonical_bytes_split_around_the_time_and_sequence_join_back_for_any_entry(
    drawn, key, sequence, reverses, recorded_at
):
    # What PostgreSQL hashes for a post in one statement (the parts with its time and its
    # sequence in between) is exactly what the verifier hashes.
    legs, description, value_date = drawn
    fields = {
        "issuer_id": 7,
        "kind": "adjustment",
        "value_date": value_date,
        "description": description,
        "idempotency_key": key,
        "reverses_sequence": reverses,
        "postings": legs,
    }
    first, second, third = entry_canonical_split(**fields)

    joined = first + format_timestamp(recorded_at) + second + str(sequence) + third
    assert joined.encode("ascii") == entry_canonical_bytes(
        **fields, recorded_at=recorded_at, sequence=sequence
    )


def _flip_char(text: str, index: int, alphabet: str) -> str:
    index %= len(text)
    replacement = next(c for c in alphabet if c != text[index])
    return text[:index] + replacement + text[index + 1 :]


ENTRY_TEXT_FIELDS = ["description", "idempotency_key", "kind", "hash", "prev_hash"]
CHANGES = [*ENTRY_TEXT_FIELDS, "value_date", "recorded_at", "amount_pence", "currency", "account"]


@PROPERTY_SETTINGS
@given(
    drawn=st.lists(entries(), min_size=2, max_size=6),
    target=st.integers(0, 10**6),
    change=st.sampled_from(CHANGES),
    where=st.integers(0, 10**6),
)
def test_any_single_change_to_a_stored_row_is_detected_at_that_sequence(
    drawn, target, change, where, new_issuer, tamper
):
    issuer = new_issuer()
    posted = post_all(issuer, drawn)
    victim = posted[target % len(posted)]
    stored = LedgerEntry.objects.get(pk=victim.pk)
    legs = list(LedgerPosting.objects.filter(entry_id=victim.pk).order_by("position"))
    posting = legs[where % len(legs)]

    if change in ENTRY_TEXT_FIELDS:
        alphabet = "0123456789abcdef" if change.endswith("hash") else "abcdefghijklmnopqrstuvwxyz"
        value = _flip_char(getattr(stored, change), where, alphabet)
        tamper(f"UPDATE {ENTRY} SET {change} = %s WHERE id = %s", [value, victim.pk])
    elif change == "value_date":
        tamper(
            f"UPDATE {ENTRY} SET value_date = %s WHERE id = %s",
            [stored.value_date + dt.timedelta(days=1), victim.pk],
        )
    elif change == "recorded_at":
        later = stored.recorded_at + dt.timedelta(microseconds=1 + where % 999)
        value = connection.ops.adapt_datetimefield_value(later)
        tamper(f"UPDATE {ENTRY} SET recorded_at = %s WHERE id = %s", [value, victim.pk])
    elif change == "amount_pence":
        amount = posting.amount_pence
        bit = 1 << (where % 40)
        value = amount ^ bit if amount ^ bit else amount ^ (bit << 1)
        tamper(f"UPDATE {POSTING} SET amount_pence = %s WHERE id = %s", [value, posting.pk])
    elif change == "currency":
        tamper(
            f"UPDATE {POSTING} SET currency = %s WHERE id = %s",
            [_flip_char(posting.currency, where, "ABCXYZ"), posting.pk],
        )
    else:  # the posting moves to another of the issuer's accounts
        other = LedgerAccount.objects.filter(issuer=issuer).exclude(pk=posting.account_id).first()
        if other is None:
            other = LedgerAccount.objects.create(
                issuer=issuer, code="tax_payable", account_type="liability", normal_side="credit"
            )
        tamper(f"UPDATE {POSTING} SET account_id = %s WHERE id = %s", [other.pk, posting.pk])

    result = ledger_verify(issuer)
    assert not result.valid
    assert result.first_invalid_sequence == victim.sequence, result.reason


@PROPERTY_SETTINGS
@given(
    drawn=st.lists(entries(), min_size=2, max_size=6),
    target=st.integers(0, 10**6),
    what=st.sampled_from(["entry", "posting"]),
)
def test_deleting_a_row_is_detected(drawn, target, what, new_issuer, tamper):
    issuer = new_issuer()
    posted = post_all(issuer, drawn)
    victim = posted[target % len(posted)]
    if what == "entry":
        tamper(f"DELETE FROM {POSTING} WHERE entry_id = %s", [victim.pk])
        tamper(f"DELETE FROM {ENTRY} WHERE id = %s", [victim.pk])
    else:
        first = LedgerPosting.objects.filter(entry_id=victim.pk).order_by("position").first()
        tamper(f"DELETE FROM {POSTING} WHERE id = %s", [first.pk])

    result = ledger_verify(issuer)
    assert not result.valid
    assert result.first_invalid_sequence == victim.sequence, result.reason


@PROPERTY_SETTINGS
@given(
    drawn=st.lists(entries(), min_size=2, max_size=6),
    picks=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_reordering_entries_is_detected(drawn, picks, new_issuer, tamper):
    issuer = new_issuer()
    posted = post_all(issuer, drawn)
    n = len(posted)
    first = picks[0] % n
    i, j = sorted((first, (first + 1 + picks[1] % (n - 1)) % n))
    a, b = posted[i], posted[j]
    # Swap the two entries' places in the chain (through a free sequence number).
    tamper(f"UPDATE {ENTRY} SET sequence = %s WHERE id = %s", [10**9, a.pk])
    tamper(f"UPDATE {ENTRY} SET sequence = %s WHERE id = %s", [a.sequence, b.pk])
    tamper(f"UPDATE {ENTRY} SET sequence = %s WHERE id = %s", [b.sequence, a.pk])

    result = ledger_verify(issuer)
    assert not result.valid
    assert result.first_invalid_sequence == a.sequence, result.reason


def test_reordering_postings_within_an_entry_is_detected(society, tamper):
    posted = post_all(
        society, [([("cash_at_bank", "GBP", 5), ("community_fund", "GBP", -5)], "x", dt.date(2025, 1, 1))] * 3
    )
    postings = list(LedgerPosting.objects.filter(entry_id=posted[1].pk).order_by("position"))
    tamper(f"UPDATE {POSTING} SET position = 99 WHERE id = %s", [postings[0].pk])
    tamper(f"UPDATE {POSTING} SET position = 0 WHERE id = %s", [postings[1].pk])
    tamper(f"UPDATE {POSTING} SET position = 1 WHERE id = %s", [postings[0].pk])
    result = ledger_verify(society)
    assert (result.valid, result.first_invalid_sequence) == (False, 2)
