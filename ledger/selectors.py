"""Reading the ledger: balances, the trial balance, entries, the chain head.

Balances are sums over postings, never stored: one GROUP BY over the covering
index on posting (account_id, currency, amount_pence), so PostgreSQL answers
from the index alone. 1,000 accounts over 200,000 postings take a few tens of
milliseconds (bench/ledger.py).
"""

# Raw SQL here interpolates only table names from model _meta; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from bondplatform.actors import Actor
from issuers import gates
from issuers.models import Issuer
from issuers.selectors import issuer_get
from ledger.models import (
    GENESIS_HASH,
    LedgerAccount,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
)

__all__ = [
    "AccountBalance",
    "TrialBalance",
    "account_balances",
    "checkpoint_latest",
    "entry_list",
    "ledger_head",
    "ledger_issuer_get",
    "trial_balance",
]

_POSTING = LedgerPosting._meta.db_table
_ACCOUNT = LedgerAccount._meta.db_table


def ledger_issuer_get(issuer_id: int, *, actor: Actor) -> Issuer:
    """The issuer whose books `actor` asks to read: 404 if there is none, then the gate
    (its officers and auditors, and staff). The reads below take the issuer it returns."""
    issuer = issuer_get(issuer_id)
    gates.require_ledger_reader(actor, issuer)
    return issuer


def _issuer_id(issuer) -> int:
    return issuer if isinstance(issuer, int) else issuer.pk


@dataclass(frozen=True)
class AccountBalance:
    account: str
    account_type: str
    normal_side: str
    currency: str
    # Signed like postings: positive is a debit balance, negative a credit one.
    balance_pence: int

    @property
    def debit_pence(self) -> int:
        return max(self.balance_pence, 0)

    @property
    def credit_pence(self) -> int:
        return max(-self.balance_pence, 0)


@dataclass(frozen=True)
class TrialBalance:
    issuer_id: int
    rows: list[AccountBalance]
    # currency -> (total of debit balances, total of credit balances)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(debits == credits for debits, credits in self.totals.values())


def account_balances(*, issuer) -> list[AccountBalance]:
    """Every account of the issuer that has postings, with its balance per currency, by code."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.code, a.account_type, a.normal_side, b.currency, b.total FROM ("
            f" SELECT account_id, currency, SUM(amount_pence) AS total FROM {_POSTING}"
            f" WHERE account_id IN (SELECT id FROM {_ACCOUNT} WHERE issuer_id = %s)"
            " GROUP BY account_id, currency"
            f") b JOIN {_ACCOUNT} a ON a.id = b.account_id ORDER BY a.code, b.currency",
            [_issuer_id(issuer)],
        )
        return [AccountBalance(code, kind, side, cur, int(total)) for code, kind, side, cur, total in cursor]


def trial_balance(*, issuer) -> TrialBalance:
    rows = account_balances(issuer=issuer)
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        debits, credits = totals.get(row.currency, (0, 0))
        totals[row.currency] = (debits + row.debit_pence, credits + row.credit_pence)
    return TrialBalance(issuer_id=_issuer_id(issuer), rows=rows, totals=totals)


def entry_list(
    *,
    issuer,
    account_codes: Collection[str] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    kinds: Collection[str] | None = None,
) -> QuerySet[LedgerEntry]:
    """The issuer's entries in chain order, postings (with account codes) prefetched.

    `since` and `until` bound the value date, both inclusive. `account_codes`
    keeps the entries that touch at least one of those accounts (the apps
    above choose them: an issue's own accounts, say); `kinds`, the entries of
    those kinds (`EntryKind`).
    """
    entries = LedgerEntry.objects.filter(issuer_id=_issuer_id(issuer))
    if kinds is not None:
        entries = entries.filter(kind__in=list(kinds))
    if account_codes is not None:
        entries = entries.filter(
            Exists(
                LedgerPosting.objects.filter(entry_id=OuterRef("pk"), account__code__in=list(account_codes))
            )
        )
    if since is not None:
        entries = entries.filter(value_date__gte=since)
    if until is not None:
        entries = entries.filter(value_date__lte=until)
    postings = LedgerPosting.objects.select_related("account").order_by("position")
    return (
        entries.select_related("reverses")
        .prefetch_related(Prefetch("postings", queryset=postings))
        .order_by("sequence")
    )


def ledger_head(*, issuer) -> tuple[int, str]:
    """(last sequence, last hash) of the issuer's chain; (0, 64 zeros) before the first entry."""
    head = LedgerHead.objects.filter(issuer_id=_issuer_id(issuer)).values_list("last_sequence", "last_hash")
    return head.first() or (0, GENESIS_HASH)


def checkpoint_list(*, issuer) -> QuerySet[LedgerCheckpoint]:
    """Every signed checkpoint of the issuer, oldest first (public: hashes only)."""
    return LedgerCheckpoint.objects.filter(issuer_id=_issuer_id(issuer)).order_by("sequence", "id")


def checkpoint_latest(*, issuer) -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.filter(issuer_id=_issuer_id(issuer)).order_by("-sequence", "-id").first()
