"""Writing to the ledger: `entry_post` and `entry_reverse`, nothing else writes entries.

How a post works (and why):
1. Everything that needs no lock is checked first: at least two postings,
   each a nonzero integer, a 3-letter currency, known account codes, zero
   sum per currency. Nothing below the lock can fail on bad input.
2. The canonical bytes of the entry (`canonical.py`, the one encoder) are
   made before the lock, split around the two things not known yet: the
   time it is recorded and its sequence.
3. On PostgreSQL, one statement (`_AT_ONCE`) then does the rest: it locks the
   issuer's `LedgerHead` row (SELECT ... FOR UPDATE), numbers the entry after
   the head and records it now, or at the head's `last_recorded_at` if a
   later post committed while it waited (recording order is chain order:
   ledger statements cut the chain by the day recorded), hashes it there
   (SHA-256 of the previous hash and the canonical bytes with the time and
   sequence in place: the same bytes the verifier hashes), inserts
   the entry ON CONFLICT (issuer, idempotency_key) DO NOTHING, its postings
   on the accounts' ids it reads, and the new head. Outside a transaction
   that statement is its own transaction: a post is one round trip, with the
   deferred balance check at its end and the head lock held only while it
   runs. It is prepared on the connection (see `_prepared_cursor`). The head
   lock is last in the project's lock order (issue -> investor -> ledger
   head): callers lock their own rows first, so bursts serialise without
   deadlocks.
4. When that statement writes nothing, `_post` does the same work step by
   step under the lock: the issuer's first post (no head row yet), an
   account's first use (it is created, under the lock), a taken key (when
   the key is taken, by an earlier post or by one that committed while we
   waited for the lock, nothing is written and the stored entry is compared
   instead), a reversal, and every post on SQLite (where the transaction's
   BEGIN IMMEDIATE serialises writers). There the time (never before the
   head's), the next sequence and the hash are taken and computed in
   Python under the lock, and the entry, its postings and
   the new head go to the database in one statement on PostgreSQL (three on
   SQLite).

`entry_post` joins the caller's transaction if there is one (the caller then
owns retries); otherwise it runs its own and retries a serialization failure
or deadlock a few times: the idempotency key makes a retry safe.
"""

# Raw SQL here interpolates only table names from model _meta; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

import psycopg
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone

from bondplatform.errors import BadInput, Conflict
from ledger.canonical import chain_hash, entry_canonical_bytes, entry_canonical_split
from ledger.models import (
    GENESIS_HASH,
    EntryKind,
    LedgerAccount,
    LedgerEntry,
    LedgerHead,
    LedgerPosting,
    chart_line,
)

__all__ = ["EntrySpec", "Posting", "entries_post", "entry_post", "entry_reverse"]

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_AMOUNT = 2**63 - 1
_MAX_POSTINGS = 1000
_RETRIES = 3
# SQLSTATEs worth retrying a whole transaction for.
_RETRYABLE = {"40001", "40P01"}

_ENTRY = LedgerEntry._meta.db_table
_POSTING = LedgerPosting._meta.db_table
_ACCOUNT = LedgerAccount._meta.db_table
_HEAD = LedgerHead._meta.db_table


@dataclass(frozen=True)
class Posting:
    """One leg of an entry. `amount_pence` is signed: positive debits, negative credits."""

    account: str
    amount_pence: int
    currency: str = "GBP"


Leg = tuple[str, str, int]  # (account code, currency, signed amount)


@dataclass(frozen=True)
class EntrySpec:
    """One entry of a batch for `entries_post` (the same fields as `entry_post` takes)."""

    kind: EntryKind | str
    value_date: dt.date
    description: str
    idempotency_key: str
    postings: list[Posting]


def entry_post(
    *,
    issuer,
    kind: EntryKind | str,
    value_date: dt.date,
    description: str,
    idempotency_key: str,
    postings: list[Posting],
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    """Append one balanced entry to the issuer's chain, or return the one already posted with this key.

    Raises BadInput for invalid postings and Conflict(`idempotency_key_reused`)
    when the key was used for different content.
    """
    issuer_id = _issuer_id(issuer)
    kind = _check_kind(kind)
    _check_value_date(value_date)
    _check_text("description", description, 500, allow_empty=False)
    _check_text("idempotency_key", idempotency_key, 200, allow_empty=False)
    legs = _check_postings(postings)
    if reverses is not None:
        if reverses.pk is None:
            raise BadInput("Only a posted entry can be reversed.", code="invalid_reversal")
        if reverses.issuer_id != issuer_id:
            raise BadInput(
                "An entry can only be reversed in its own issuer's ledger.", code="invalid_reversal"
            )

    connection = connections[DEFAULT_DB_ALIAS]
    args = (issuer_id, kind, value_date, description, idempotency_key, legs, reverses)
    at_once = reverses is None and connection.vendor == "postgresql"
    if connection.in_atomic_block:
        if at_once and (entry := _post_at_once(connection, *args[:-1])) is not None:
            return entry
        return _post(connection, *args)
    for attempt in range(_RETRIES):
        try:
            if at_once and (entry := _post_at_once(connection, *args[:-1])) is not None:
                return entry
            with transaction.atomic(using=connection.alias):
                return _post(connection, *args)
        except OperationalError as exc:
            if attempt == _RETRIES - 1 or getattr(exc.__cause__, "sqlstate", None) not in _RETRYABLE:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def entries_post(*, issuer, entries: list[EntrySpec]) -> list[LedgerEntry]:
    """Append many balanced entries to the issuer's chain under one head lock, in order.

    The batch form of `entry_post` for bulk work (an interest run): the same
    checks, the same chain and hashes, the same idempotency (an entry whose
    key was posted before is compared and returned, not posted again), in
    three statements for the whole batch instead of one round trip per
    entry. Joins the caller's transaction, or runs in its own. A batch is
    all or nothing. Keep batches to a few hundred entries: each holds the
    head lock for the whole batch.
    """
    issuer_id = _issuer_id(issuer)
    checked = []
    keys = set()
    for spec in entries:
        if not isinstance(spec, EntrySpec):
            raise BadInput("Entries must be EntrySpec objects.", code="invalid_entry")
        _check_value_date(spec.value_date)
        _check_text("description", spec.description, 500, allow_empty=False)
        _check_text("idempotency_key", spec.idempotency_key, 200, allow_empty=False)
        if spec.idempotency_key in keys:
            raise BadInput(
                f"The idempotency key {spec.idempotency_key!r} appears twice in the batch.",
                code="idempotency_key_reused",
            )
        keys.add(spec.idempotency_key)
        checked.append(
            (
                _check_kind(spec.kind),
                spec.value_date,
                spec.description,
                spec.idempotency_key,
                _check_postings(spec.postings),
            )
        )
    if not checked:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        return _post_many(connection, issuer_id, checked)
    with transaction.atomic(using=connection.alias):
        return _post_many(connection, issuer_id, checked)


def entry_reverse(
    *, entry: LedgerEntry, value_date: dt.date, description: str, idempotency_key: str
) -> LedgerEntry:
    """A new entry that undoes `entry`: the same postings with their signs flipped.

    An entry is reversed at most once; reversing it again with another key is
    refused with Conflict(`already_reversed`).
    """
    if entry.pk is None:
        raise BadInput("Only a posted entry can be reversed.", code="invalid_reversal")
    legs = LedgerPosting.objects.filter(entry_id=entry.pk).order_by("position")
    postings = [
        Posting(account=code, amount_pence=-amount, currency=currency)
        for code, currency, amount in legs.values_list("account__code", "currency", "amount_pence")
    ]
    return entry_post(
        issuer=entry.issuer_id,
        kind=EntryKind.REVERSAL,
        value_date=value_date,
        description=description,
        idempotency_key=idempotency_key,
        postings=postings,
        reverses=entry,
    )


# --- validation (no database) ---------------------------------------------------


def _issuer_id(issuer) -> int:
    issuer_id = (
        issuer if isinstance(issuer, int) and not isinstance(issuer, bool) else getattr(issuer, "pk", None)
    )
    if not isinstance(issuer_id, int):
        raise BadInput("The entry needs a saved issuer.", code="invalid_issuer")
    return issuer_id


_KINDS = frozenset(EntryKind.values)


def _check_kind(kind) -> str:
    if kind not in _KINDS:
        raise BadInput(f"Unknown entry kind {kind!r}.", code="invalid_kind")
    return str(kind)


def _check_value_date(value_date) -> None:
    if not isinstance(value_date, dt.date) or isinstance(value_date, dt.datetime):
        raise BadInput("value_date must be a date.", code="invalid_value_date")


def _check_text(name: str, value, max_length: int, *, allow_empty: bool) -> None:
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value or not (allow_empty or value):
        raise BadInput(
            f"{name} must be a text of 1 to {max_length} characters.",
            code=f"invalid_{name}",
            fields={name: ["Invalid."]},
        )


def _check_postings(postings) -> tuple[Leg, ...]:
    if not isinstance(postings, list | tuple) or len(postings) < 2:
        raise BadInput("An entry needs at least two postings.", code="too_few_postings")
    if len(postings) > _MAX_POSTINGS:
        raise BadInput(f"An entry has at most {_MAX_POSTINGS} postings.", code="too_many_postings")
    legs = []
    totals: dict[str, int] = {}
    for posting in postings:
        if not isinstance(posting, Posting):
            raise BadInput("Postings must be Posting objects.", code="invalid_posting")
        amount, currency, code = posting.amount_pence, posting.currency, posting.account
        if type(amount) is not int or amount == 0 or abs(amount) > _MAX_AMOUNT:
            raise BadInput(
                "Each posting's amount is a nonzero whole number of minor units.", code="invalid_amount"
            )
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise BadInput(f"{currency!r} is not a currency code.", code="invalid_currency")
        if not isinstance(code, str) or chart_line(code) is None:
            raise BadInput(f"{code!r} is not an account in the chart of accounts.", code="unknown_account")
        totals[currency] = totals.get(currency, 0) + amount
        legs.append((code, currency, amount))
    unbalanced = sorted(c for c, total in totals.items() if total != 0)
    if unbalanced:
        raise BadInput(
            f"Debits and credits differ in {', '.join(unbalanced)}.",
            code="unbalanced_entry",
            fields={"postings": [f"{c} sums to {totals[c]}, not 0." for c in unbalanced]},
        )
    return tuple(legs)


# --- under the lock ---------------------------------------------------------------


def _post_at_once(connection, issuer_id, kind, value_date, description, key, legs) -> LedgerEntry | None:
    """The common post on PostgreSQL in one statement (`_AT_ONCE`), or None when it wrote nothing.

    It writes nothing, and `_post` then does the work step by step, when the
    issuer has no head row yet, an account is used for the first time, or the
    key is taken (a replay to compare, or a misuse). Outside a transaction the
    statement is its own: one round trip, the deferred balance check at its end.
    """
    first, second, third = entry_canonical_split(
        issuer_id=issuer_id,
        kind=kind,
        value_date=value_date,
        description=description,
        idempotency_key=key,
        reverses_sequence=None,
        postings=legs,
    )
    params = {
        "issuer": issuer_id,
        "kind": kind,
        "value_date": value_date,
        "description": description,
        "key": key,
        "now": timezone.now(),
        "first": first,
        "second": second,
        "third": third,
        # Array literals, which PostgreSQL parses, cost psycopg a fraction of adapting lists.
        "codes": _text_array([code for code, _, _ in legs]),
        "currencies": _text_array([currency for _, currency, _ in legs]),
        "amounts": "{" + ",".join([str(amount) for _, _, amount in legs]) + "}",
    }
    with _prepared_cursor(connection) as cursor:
        cursor.execute(_AT_ONCE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    entry_id, sequence, recorded_at, prev_hash, digest = row
    return LedgerEntry.from_db(
        connection.alias,
        _ENTRY_FIELDS,  # the values below are in this, the model's, order
        [
            entry_id,
            issuer_id,
            sequence,
            kind,
            value_date,
            description,
            key,
            None,
            recorded_at,
            prev_hash,
            digest,
        ],
    )


def _text_array(texts: list[str]) -> str:
    """A PostgreSQL text[] literal: every element double-quoted, its backslashes and quotes escaped."""
    return "{" + ",".join(['"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in texts]) + "}"


def _prepared_cursor(connection):
    """Django's cursor wrapper (its error translation, query log and execute wrappers) around
    psycopg's server-side binding cursor.

    Django's own cursor binds parameters on the client, so PostgreSQL parses and
    plans every statement it sends; this one lets psycopg prepare a statement
    after `prepare_threshold` uses on the connection (see settings.py: never,
    if it is None), which saves most of the server's work on `_AT_ONCE`.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = psycopg.Cursor(connection.connection)
    return (
        connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    )


def _post(connection, issuer_id, kind, value_date, description, key, legs, reverses) -> LedgerEntry:
    codes = sorted({leg[0] for leg in legs})
    with connection.cursor() as cursor:
        last_sequence, last_hash, last_recorded_at, account_ids = _head_lock(
            connection, cursor, issuer_id, codes
        )

        if reverses is not None:
            cursor.execute(
                f"SELECT id FROM {_ENTRY} WHERE reverses_id = %s AND idempotency_key <> %s",
                [reverses.pk, key],
            )
            if cursor.fetchone() is not None:
                raise Conflict(
                    f"Entry #{reverses.sequence} has already been reversed.", code="already_reversed"
                )
        if len(account_ids) < len(codes):
            account_ids = _accounts_get_or_create(cursor, issuer_id, codes)

        sequence = last_sequence + 1
        recorded_at = _recorded_at(last_recorded_at)
        digest = chain_hash(
            last_hash,
            entry_canonical_bytes(
                issuer_id=issuer_id,
                sequence=sequence,
                kind=kind,
                value_date=value_date,
                description=description,
                idempotency_key=key,
                reverses_sequence=reverses.sequence if reverses is not None else None,
                recorded_at=recorded_at,
                postings=legs,
            ),
        )
        ops = connection.ops
        entry_params = [
            issuer_id,
            sequence,
            kind,
            ops.adapt_datefield_value(value_date),
            description,
            key,
            reverses.pk if reverses is not None else None,
            ops.adapt_datetimefield_value(recorded_at),
            last_hash,
            digest,
        ]
        posting_params = []
        for position, (code, currency, amount) in enumerate(legs):
            posting_params += [account_ids[code], position, currency, amount]
        head_params = [sequence, digest, ops.adapt_datetimefield_value(recorded_at), issuer_id]
        insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_portable
        entry_id = insert(cursor, entry_params, posting_params, len(legs), head_params)
        if entry_id is None:
            # The key is taken (ON CONFLICT DO NOTHING wrote nothing): a replay, or a misuse of the key.
            cursor.execute(
                f"SELECT id FROM {_ENTRY} WHERE issuer_id = %s AND idempotency_key = %s", [issuer_id, key]
            )
            return _replay(cursor.fetchone()[0], kind, value_date, description, key, legs, reverses)

    entry = LedgerEntry(
        id=entry_id,
        issuer_id=issuer_id,
        sequence=sequence,
        kind=kind,
        value_date=value_date,
        description=description,
        idempotency_key=key,
        reverses=reverses,
        recorded_at=recorded_at,
        prev_hash=last_hash,
        hash=digest,
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _post_many(connection, issuer_id: int, checked: list) -> list[LedgerEntry]:
    codes = sorted({leg[0] for *_, legs in checked for leg in legs})
    ops = connection.ops
    with connection.cursor() as cursor:
        last_sequence, last_hash, last_recorded_at, account_ids = _head_lock(
            connection, cursor, issuer_id, codes
        )
        if len(account_ids) < len(codes):
            account_ids = _accounts_get_or_create(cursor, issuer_id, codes)
        # Under the head lock every earlier post of this issuer has committed and is visible.
        keys = [key for _, _, _, key, _ in checked]
        in_keys = ", ".join(["%s"] * len(keys))
        cursor.execute(
            f"SELECT idempotency_key, id FROM {_ENTRY} WHERE issuer_id = %s AND idempotency_key IN ({in_keys})",
            [issuer_id, *keys],
        )
        posted_before = dict(cursor.fetchall())

        recorded_at = _recorded_at(last_recorded_at)
        new: list[LedgerEntry] = []
        entry_params: list = []
        legs_of: dict[int, tuple[Leg, ...]] = {}
        for kind, value_date, description, key, legs in checked:
            if key in posted_before:
                continue
            sequence = last_sequence + 1
            digest = chain_hash(
                last_hash,
                entry_canonical_bytes(
                    issuer_id=issuer_id,
                    sequence=sequence,
                    kind=kind,
                    value_date=value_date,
                    description=description,
                    idempotency_key=key,
                    reverses_sequence=None,
                    recorded_at=recorded_at,
                    postings=legs,
                ),
            )
            entry = LedgerEntry(
                issuer_id=issuer_id,
                sequence=sequence,
                kind=kind,
                value_date=value_date,
                description=description,
                idempotency_key=key,
                reverses=None,
                recorded_at=recorded_at,
                prev_hash=last_hash,
                hash=digest,
            )
            new.append(entry)
            legs_of[sequence] = legs
            entry_params += [
                issuer_id,
                sequence,
                kind,
                ops.adapt_datefield_value(value_date),
                description,
                key,
                None,
                ops.adapt_datetimefield_value(recorded_at),
                last_hash,
                digest,
            ]
            last_sequence, last_hash = sequence, digest

        if new:
            cursor.execute(
                f"INSERT INTO {_ENTRY} ({_ENTRY_COLUMNS}) VALUES {', '.join([f'({_ENTRY_VALUES})'] * len(new))}"
                " RETURNING sequence, id",
                entry_params,
            )
            ids = dict(cursor.fetchall())
            posting_params: list = []
            for entry in new:
                entry.id = ids[entry.sequence]
                entry._state.adding = False
                entry._state.db = connection.alias
                for position, (code, currency, amount) in enumerate(legs_of[entry.sequence]):
                    posting_params += [entry.id, account_ids[code], position, currency, amount]
            cursor.execute(
                f"INSERT INTO {_POSTING} (entry_id, account_id, position, currency, amount_pence) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * (len(posting_params) // 5)),
                posting_params,
            )
            cursor.execute(
                f"UPDATE {_HEAD} SET last_sequence = %s, last_hash = %s, last_recorded_at = %s WHERE issuer_id = %s",
                [last_sequence, last_hash, ops.adapt_datetimefield_value(recorded_at), issuer_id],
            )

    by_key = {entry.idempotency_key: entry for entry in new}
    result = []
    for kind, value_date, description, key, legs in checked:
        if key in by_key:
            result.append(by_key[key])
        else:
            result.append(_replay(posted_before[key], kind, value_date, description, key, legs, None))
    return result


def _recorded_at(last_recorded_at) -> dt.datetime:
    """The time a post is recorded, under the head lock: now, but never before the entry it
    follows (see LedgerHead.last_recorded_at), so recording order is chain order."""
    now = timezone.now()
    if last_recorded_at is None:
        return now
    if isinstance(last_recorded_at, str):
        last_recorded_at = dt.datetime.fromisoformat(last_recorded_at)
    if last_recorded_at.tzinfo is None:  # SQLite hands back the UTC time Django stored, naive
        last_recorded_at = last_recorded_at.replace(tzinfo=dt.UTC)
    return max(now, last_recorded_at)


def _head_lock(
    connection, cursor, issuer_id: int, codes: list[str]
) -> tuple[int, str, object, dict[str, int]]:
    """Lock the issuer's head row (creating it on the first post); also read the accounts' ids.

    On PostgreSQL one statement does both. Its account subquery reads the
    snapshot taken before any wait for the lock, so an account created
    meanwhile may be missing from it: it is then looked up (and not created
    twice, see `_accounts_get_or_create`). Accounts are never deleted, so
    an id that is there is right.
    """
    in_codes = ", ".join(["%s"] * len(codes))
    if connection.vendor == "postgresql":
        select = (
            "SELECT last_sequence, last_hash, last_recorded_at,"
            f" ARRAY(SELECT code || '=' || id FROM {_ACCOUNT} WHERE issuer_id = %s AND code IN ({in_codes}))"
            f" FROM {_HEAD} WHERE issuer_id = %s FOR UPDATE"
        )
        params = [issuer_id, *codes, issuer_id]
    else:
        select = f"SELECT last_sequence, last_hash, last_recorded_at, NULL FROM {_HEAD} WHERE issuer_id = %s"
        params = [issuer_id]
    cursor.execute(select, params)
    row = cursor.fetchone()
    if row is None:
        # Two first posts may race here: ON CONFLICT lets the loser wait on
        # the winner's row instead of failing, and both then lock it.
        cursor.execute(
            f"INSERT INTO {_HEAD} (issuer_id, last_sequence, last_hash) VALUES (%s, 0, %s)"
            " ON CONFLICT (issuer_id) DO NOTHING",
            [issuer_id, GENESIS_HASH],
        )
        cursor.execute(select, params)
        row = cursor.fetchone()
    last_sequence, last_hash, last_recorded_at, pairs = row
    if pairs is None:
        cursor.execute(
            f"SELECT code, id FROM {_ACCOUNT} WHERE issuer_id = %s AND code IN ({in_codes})",
            [issuer_id, *codes],
        )
        account_ids = dict(cursor.fetchall())
    else:
        account_ids = {code: int(account_id) for code, _, account_id in (p.rpartition("=") for p in pairs)}
    return int(last_sequence), last_hash, last_recorded_at, account_ids


_ENTRY_FIELDS = (
    "id",
    "issuer_id",
    "sequence",
    "kind",
    "value_date",
    "description",
    "idempotency_key",
    "reverses_id",
    "recorded_at",
    "prev_hash",
    "hash",
)
if tuple(f.attname for f in LedgerEntry._meta.concrete_fields) != _ENTRY_FIELDS:  # pragma: no cover
    raise RuntimeError("LedgerEntry's fields changed: update _ENTRY_FIELDS and _post_at_once.")
_ENTRY_COLUMNS = "issuer_id, sequence, kind, value_date, description, idempotency_key, reverses_id, recorded_at, prev_hash, hash"
_ENTRY_VALUES = ", ".join(["%s"] * 10)


# Lock the head; number the entry after it and record it at the time read before the statement,
# or at the head's time if a post recorded later committed while we waited (so recording order
# stays chain order); chain the entry's hash from the locked head (SHA-256 of the previous hash
# and `canonical.py`'s bytes with the time and sequence put in, the time formatted as
# `format_timestamp` does); insert the entry, its postings and the new head: all in one
# statement, so under the lock for one round trip. The lock waits for a concurrent post and
# then reads the head it committed (READ COMMITTED re-reads a locked row); the UPDATE finds
# that same row version. Accounts are read from the statement's snapshot: if one is missing
# (new, or created while we waited), nothing is written. As in `_insert_postgresql`, ON
# CONFLICT sees keys committed while we waited.
_AT_ONCE = (
    f"WITH h AS (SELECT last_sequence + 1 AS sequence, last_hash, last_recorded_at FROM {_HEAD}"
    " WHERE issuer_id = %(issuer)s FOR UPDATE),"
    " t AS MATERIALIZED (SELECT sequence, last_hash,"
    " GREATEST(%(now)s::timestamptz, last_recorded_at) AS at FROM h),"
    " l AS (SELECT * FROM unnest(%(codes)s::text[], %(currencies)s::text[], %(amounts)s::bigint[])"
    " WITH ORDINALITY AS l(code, currency, amount, n)),"
    f" a AS (SELECT code, id FROM {_ACCOUNT} WHERE issuer_id = %(issuer)s AND code IN (SELECT code FROM l)),"
    f" e AS (INSERT INTO {_ENTRY} ({_ENTRY_COLUMNS})"
    " SELECT %(issuer)s, t.sequence, %(kind)s, %(value_date)s, %(description)s, %(key)s, NULL, t.at,"
    " t.last_hash, encode(sha256(convert_to(t.last_hash || %(first)s::text"
    """ || to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    " || %(second)s::text || t.sequence::text || %(third)s::text, 'UTF8')), 'hex')"
    " FROM t WHERE (SELECT count(*) FROM a) = (SELECT count(DISTINCT code) FROM l)"
    " ON CONFLICT (issuer_id, idempotency_key) DO NOTHING RETURNING id, sequence, recorded_at, prev_hash, hash),"
    f" p AS (INSERT INTO {_POSTING} (entry_id, account_id, position, currency, amount_pence)"
    " SELECT e.id, a.id, l.n - 1, l.currency, l.amount FROM e CROSS JOIN l JOIN a ON a.code = l.code),"
    f" u AS (UPDATE {_HEAD} SET last_sequence = e.sequence, last_hash = e.hash, last_recorded_at = e.recorded_at"
    " FROM e"
    f" WHERE {_HEAD}.issuer_id = %(issuer)s)"
    " SELECT id, sequence, recorded_at, prev_hash, hash FROM e"
)


def _insert_postgresql(cursor, entry_params, posting_params, n, head_params) -> int | None:
    # One round trip for the entry, its postings and the head. ON CONFLICT
    # sees keys committed while this transaction waited for the head lock
    # (which a plain existence check, bound to the statement's snapshot,
    # would not); on a taken key nothing at all is written.
    values = ", ".join(["(%s, %s, %s, %s)"] * n)
    cursor.execute(
        f"WITH e AS (INSERT INTO {_ENTRY} ({_ENTRY_COLUMNS}) VALUES ({_ENTRY_VALUES})"
        " ON CONFLICT (issuer_id, idempotency_key) DO NOTHING RETURNING id),"
        f" p AS (INSERT INTO {_POSTING} (entry_id, account_id, position, currency, amount_pence)"
        f" SELECT e.id, v.a, v.p, v.c, v.m FROM e CROSS JOIN (VALUES {values}) AS v(a, p, c, m)),"
        f" h AS (UPDATE {_HEAD} SET last_sequence = %s, last_hash = %s, last_recorded_at = %s FROM e"
        " WHERE issuer_id = %s)"
        " SELECT id FROM e",
        [*entry_params, *posting_params, *head_params],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _insert_portable(cursor, entry_params, posting_params, n, head_params) -> int | None:
    cursor.execute(
        f"INSERT INTO {_ENTRY} ({_ENTRY_COLUMNS}) VALUES ({_ENTRY_VALUES})"
        " ON CONFLICT (issuer_id, idempotency_key) DO NOTHING RETURNING id",
        entry_params,
    )
    row = cursor.fetchone()
    if row is None:
        return None
    entry_id = row[0]
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * n)
    params = []
    for i in range(n):
        params += [entry_id, *posting_params[4 * i : 4 * i + 4]]
    cursor.execute(
        f"INSERT INTO {_POSTING} (entry_id, account_id, position, currency, amount_pence) VALUES {values}",
        params,
    )
    cursor.execute(
        f"UPDATE {_HEAD} SET last_sequence = %s, last_hash = %s, last_recorded_at = %s WHERE issuer_id = %s",
        head_params,
    )
    return entry_id


def _accounts_get_or_create(cursor, issuer_id: int, codes: list[str]) -> dict[str, int]:
    """Ids of the issuer's accounts, creating those that do not exist yet.

    Runs under the head lock, so accounts of one issuer are created by one
    transaction at a time; ON CONFLICT still makes it safe without the lock.
    """
    in_codes = ", ".join(["%s"] * len(codes))
    select = f"SELECT code, id FROM {_ACCOUNT} WHERE issuer_id = %s AND code IN ({in_codes})"
    cursor.execute(select, [issuer_id, *codes])
    found = dict(cursor.fetchall())
    absent = [code for code in codes if code not in found]
    if absent:
        now = cursor.db.ops.adapt_datetimefield_value(timezone.now())
        params: list = []
        for code in absent:
            line = chart_line(code)
            assert line is not None  # the codes were checked against the chart before the lock
            params += [issuer_id, code, str(line.account_type), str(line.normal_side), now]
        cursor.execute(
            f"INSERT INTO {_ACCOUNT} (issuer_id, code, account_type, normal_side, created_at)"
            f" VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(absent))}"
            " ON CONFLICT (issuer_id, code) DO NOTHING",
            params,
        )
        cursor.execute(select, [issuer_id, *codes])
        found = dict(cursor.fetchall())
    return found


def _replay(existing_id, kind, value_date, description, key, legs, reverses) -> LedgerEntry:
    """The key was used before: the same content returns that entry, anything else is refused."""
    entry = LedgerEntry.objects.select_related("reverses").get(pk=existing_id)
    stored = tuple(
        LedgerPosting.objects.filter(entry_id=existing_id)
        .order_by("position")
        .values_list("account__code", "currency", "amount_pence")
    )
    same = (
        entry.kind == kind
        and entry.value_date == value_date
        and entry.description == description
        and entry.reverses_id == (reverses.pk if reverses is not None else None)
        and stored == legs
    )
    if not same:
        raise Conflict(
            f"The idempotency key {key!r} was already used for a different entry (#{entry.sequence}).",
            code="idempotency_key_reused",
        )
    return entry
