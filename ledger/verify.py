"""Verifying an issuer's chain from the stored rows alone.

Checks, in sequence order, stopping at the first failure:
- sequences run 1, 2, 3, ... with no gap and nothing duplicated;
- each entry's `prev_hash` is the previous entry's `hash` (64 zeros first);
- each entry's `hash` is SHA-256(prev_hash || canonical bytes) recomputed
  with the writer's own encoder (`canonical.py`);
- each entry has at least two nonzero postings, on its own issuer's
  accounts, summing to zero per currency;
- each signed checkpoint names the hash the chain has at its sequence;
- the `LedgerHead` row agrees with the chain's end, and no posting on the
  issuer's accounts belongs to another issuer's entry.

It reads with two ordered raw cursors (entries; postings joined to their
accounts), merges them in Python and never builds model instances: about
100,000 entries a second on PostgreSQL (see bench/ledger.py). On PostgreSQL
it reads in one REPEATABLE READ snapshot, so concurrent posts are either
wholly in or wholly out.
"""

# Raw SQL here interpolates only table names from model _meta; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from ledger.canonical import chain_hash, entry_canonical_bytes
from ledger.models import (
    GENESIS_HASH,
    LedgerAccount,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
)

__all__ = ["VerificationResult", "ledger_verify"]

_CHUNK = 5000
_ENTRY = LedgerEntry._meta.db_table
_POSTING = LedgerPosting._meta.db_table
_ACCOUNT = LedgerAccount._meta.db_table
_HEAD = LedgerHead._meta.db_table
_CHECKPOINT = LedgerCheckpoint._meta.db_table


@dataclass(frozen=True)
class VerificationResult:
    valid: bool
    entries_checked: int
    # What the head row claims (0 and the genesis hash for an empty ledger).
    head_sequence: int
    head_hash: str
    first_invalid_sequence: int | None = None
    reason: str = ""


class _Invalid(Exception):
    def __init__(self, sequence: int | None, reason: str):
        super().__init__(reason)
        self.sequence = sequence
        self.reason = reason


def ledger_verify(issuer, *, using: str = DEFAULT_DB_ALIAS) -> VerificationResult:
    issuer_id = issuer if isinstance(issuer, int) else issuer.pk
    connection = connections[using]
    if connection.in_atomic_block:
        return _verify(connection, issuer_id)
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify(connection, issuer_id)


def _rows(connection, sql: str, params: list):
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(_CHUNK)
            if not chunk:
                return
            yield from chunk
    finally:
        cursor.close()


def _verify(connection, issuer_id: int) -> VerificationResult:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_sequence, last_hash FROM {_HEAD} WHERE issuer_id = %s", [issuer_id])
        head = cursor.fetchone()
        cursor.execute(f"SELECT sequence, hash FROM {_CHECKPOINT} WHERE issuer_id = %s", [issuer_id])
        checkpoints: dict[int, set[str]] = {}
        for sequence, digest in cursor.fetchall():
            checkpoints.setdefault(sequence, set()).add(digest)
    head_sequence, head_hash = (int(head[0]), head[1]) if head else (0, GENESIS_HASH)

    if connection.vendor == "postgresql":
        # Dates and times as canonical text straight from the server: building
        # datetime objects only to format them again was a third of the time.
        value_date = "to_char(e.value_date, 'YYYY-MM-DD')"
        recorded_at = "to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    else:
        value_date, recorded_at = "e.value_date", "e.recorded_at"
    entries = _rows(
        connection,
        f"SELECT e.id, e.sequence, e.kind, {value_date}, e.description, e.idempotency_key, r.sequence,"
        f" {recorded_at}, e.prev_hash, e.hash FROM {_ENTRY} e LEFT JOIN {_ENTRY} r ON r.id = e.reverses_id"
        " WHERE e.issuer_id = %s ORDER BY e.sequence, e.id",
        [issuer_id],
    )
    postings = _rows(
        connection,
        f"SELECT p.entry_id, a.code, p.currency, p.amount_pence, a.issuer_id FROM {_POSTING} p"
        f" JOIN {_ENTRY} e ON e.id = p.entry_id JOIN {_ACCOUNT} a ON a.id = p.account_id"
        " WHERE e.issuer_id = %s ORDER BY e.sequence, e.id, p.position",
        [issuer_id],
    )
    checked = 0
    previous = GENESIS_HASH
    expected = 1
    try:
        pending = next(postings, None)
        for (
            entry_id,
            sequence,
            kind,
            value_date,
            description,
            key,
            reverses,
            recorded_at,
            prev,
            digest,
        ) in entries:
            checked += 1
            if sequence != expected:
                found = "a duplicate" if sequence < expected else f"#{sequence}"
                raise _Invalid(expected, f"sequence gap: expected #{expected}, found {found}")
            legs = []
            while pending is not None and pending[0] == entry_id:
                if pending[4] != issuer_id:
                    raise _Invalid(sequence, "a posting is on another issuer's account")
                legs.append((pending[1], pending[2], pending[3]))
                pending = next(postings, None)
            if prev != previous:
                raise _Invalid(sequence, "prev_hash is not the previous entry's hash")
            _check_balanced(sequence, legs)
            canonical = entry_canonical_bytes(
                issuer_id=issuer_id,
                sequence=sequence,
                kind=kind,
                value_date=value_date,
                description=description,
                idempotency_key=key,
                reverses_sequence=reverses,
                recorded_at=recorded_at,
                postings=legs,
            )
            if chain_hash(previous, canonical) != digest:
                raise _Invalid(sequence, "hash does not match the entry's contents")
            signed = checkpoints.get(sequence)
            if signed is not None and digest not in signed:
                raise _Invalid(sequence, "hash differs from a signed checkpoint")
            previous = digest
            expected += 1
        last = expected - 1
        if checkpoints and max(checkpoints) > last:
            raise _Invalid(last + 1, f"a signed checkpoint names #{max(checkpoints)}, past the chain's end")
        if head_sequence != last:
            raise _Invalid(
                min(head_sequence, last) + 1, f"the head says #{head_sequence} but the chain ends at #{last}"
            )
        if head_hash != previous:
            raise _Invalid(last, "the head's hash is not the last entry's hash")
        _check_no_foreign_postings(connection, issuer_id)
    except _Invalid as invalid:
        return VerificationResult(
            valid=False,
            entries_checked=checked,
            head_sequence=head_sequence,
            head_hash=head_hash,
            first_invalid_sequence=invalid.sequence,
            reason=invalid.reason,
        )
    finally:
        entries.close()
        postings.close()
    return VerificationResult(
        valid=True, entries_checked=checked, head_sequence=head_sequence, head_hash=head_hash
    )


def _check_balanced(sequence: int, legs: list) -> None:
    if len(legs) < 2:
        raise _Invalid(sequence, "fewer than two postings")
    if len(legs) == 2:
        (_, c1, a1), (_, c2, a2) = legs
        if c1 == c2 and a1 + a2 == 0 and a1 != 0:
            return
    totals: dict[str, int] = {}
    for _, currency, amount in legs:
        if amount == 0:
            raise _Invalid(sequence, "a posting of zero")
        totals[currency] = totals.get(currency, 0) + amount
    if any(totals.values()):
        raise _Invalid(sequence, "postings do not sum to zero per currency")


def _check_no_foreign_postings(connection, issuer_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(e.sequence) FROM {_POSTING} p JOIN {_ACCOUNT} a ON a.id = p.account_id"
            f" JOIN {_ENTRY} e ON e.id = p.entry_id WHERE a.issuer_id = %s AND e.issuer_id <> %s",
            [issuer_id, issuer_id],
        )
        row = cursor.fetchone()
    if row and row[0] is not None:
        raise _Invalid(None, "another issuer's entry posts to this issuer's accounts")
