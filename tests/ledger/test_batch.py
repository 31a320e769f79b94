"""`entries_post`: many entries under one head lock, with every guarantee of `entry_post`."""

from __future__ import annotations

import pytest
from django.db import transaction

from bondplatform.errors import BadInput, Conflict
from ledger.models import LedgerEntry, LedgerPosting
from ledger.selectors import ledger_head
from ledger.services import EntrySpec, Posting, entries_post
from ledger.verify import ledger_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def interest(value_date):
    def interest(holding: int, pence: int, key: str | None = None) -> EntrySpec:
        return EntrySpec(
            kind="interest_accrual",
            value_date=value_date,
            description=f"Interest for holding {holding}",
            idempotency_key=key or f"interest:1:2025-04-01:{holding}",
            postings=[Posting("interest_expense", pence), Posting(f"interest_payable:{holding}", -pence)],
        )

    return interest


def test_a_batch_continues_the_chain_in_order_and_verifies(new_issuer, pay_in, interest):
    issuer = new_issuer()
    pay_in(issuer, "before")
    entries = entries_post(issuer=issuer, entries=[interest(h, 100 + h) for h in range(1, 51)])
    pay_in(issuer, "after")

    assert [e.sequence for e in entries] == list(range(2, 52))
    assert all(e.pk for e in entries)
    assert entries[0].prev_hash == LedgerEntry.objects.get(issuer=issuer, sequence=1).hash
    assert LedgerPosting.objects.filter(entry__in=entries).count() == 100
    assert ledger_head(issuer=issuer)[0] == 52
    assert ledger_verify(issuer).valid


def test_a_rerun_posts_nothing_twice_and_returns_the_same_entries(new_issuer, interest):
    issuer = new_issuer()
    first = entries_post(issuer=issuer, entries=[interest(h, 100) for h in range(1, 4)])
    again = entries_post(issuer=issuer, entries=[interest(h, 100) for h in range(1, 6)])  # two new ones
    assert [e.pk for e in again[:3]] == [e.pk for e in first]
    assert [e.sequence for e in again[3:]] == [4, 5]
    assert LedgerEntry.objects.filter(issuer=issuer).count() == 5
    assert ledger_verify(issuer).valid


def test_a_key_reused_for_other_content_refuses_the_whole_batch(new_issuer, interest):
    issuer = new_issuer()
    entries_post(issuer=issuer, entries=[interest(1, 100)])
    with pytest.raises(Conflict) as refused, transaction.atomic():
        entries_post(issuer=issuer, entries=[interest(2, 100), interest(1, 999)])
    assert refused.value.code == "idempotency_key_reused"
    assert LedgerEntry.objects.filter(issuer=issuer).count() == 1  # nothing of the batch was written
    assert ledger_head(issuer=issuer)[0] == 1


# Each case builds its batch from the `interest` and `value_date` fixtures.
@pytest.mark.parametrize(
    ("entries", "code"),
    [
        (
            lambda interest, value_date: [
                interest(1, 100),
                interest(2, 100, key="same"),
                interest(3, 100, key="same"),
            ],
            "idempotency_key_reused",
        ),
        (
            lambda interest, value_date: [
                EntrySpec("interest_accrual", value_date, "x", "k", [Posting("interest_expense", 1)])
            ],
            "too_few_postings",
        ),
        (
            lambda interest, value_date: [
                EntrySpec(
                    "interest_accrual",
                    value_date,
                    "x",
                    "k",
                    [Posting("cash_at_bank", 1), Posting("community_fund", -2)],
                )
            ],
            "unbalanced_entry",
        ),
        (lambda interest, value_date: ["not an entry"], "invalid_entry"),
    ],
    ids=lambda value: None if isinstance(value, str) else "entries",
)
def test_bad_batches_are_refused_before_anything_is_locked(entries, code, new_issuer, interest, value_date):
    issuer = new_issuer()
    with pytest.raises(BadInput) as refused:
        entries_post(issuer=issuer, entries=entries(interest, value_date))
    assert refused.value.code == code
    assert not LedgerEntry.objects.filter(issuer=issuer).exists()


def test_an_empty_batch_is_nothing(new_issuer):
    assert entries_post(issuer=new_issuer(), entries=[]) == []
