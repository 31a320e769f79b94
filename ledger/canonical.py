"""The one canonical encoding of a ledger entry, shared by the writer and the verifier.

An entry's hash is

    hash = SHA-256( prev_hash || canonical_bytes(entry) )

where `prev_hash` is the previous entry's hash as 64 lower-case hex ASCII
characters (64 zeros before the first entry) and `canonical_bytes` is this
JSON object, with keys sorted, no whitespace, ASCII only (other characters as
\\uXXXX escapes):

    {"description": str, "idempotency_key": str, "issuer": int,
     "kind": str, "postings": [[account_code, currency, amount_pence], ...],
     "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, always microseconds),
     "reverses": int sequence of the reversed entry or null,
     "sequence": int, "v": 1, "value_date": "YYYY-MM-DD"}

Postings are in their stored `position` order; `amount_pence` is signed
(positive debit, negative credit). Anybody can re-implement this in a few
lines to check an exported statement offline. Changing it breaks every chain
already written, so a new format must get a new "v" and the verifier must
keep understanding the old ones.

What signatures cover uses the same JSON form: a checkpoint (`signed_bytes`)
and a statement (`statement_signed_bytes`). `tools/verify_statement.py`
re-implements all of this from these docstrings, on purpose, without
importing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable

from ledger.models import GENESIS_HASH

FORMAT_VERSION = 1

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "chain_hash",
    "entry_canonical_bytes",
    "entry_canonical_split",
    "format_date",
    "format_timestamp",
    "signed_bytes",
    "statement_signed_bytes",
]


_CANONICAL_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def format_timestamp(value: dt.datetime | str) -> str:
    """UTC, microseconds always shown, "Z" suffix. Naive datetimes are taken as UTC
    (SQLite hands back the UTC text Django stored, without an offset). Text
    already in this form (the verifier has PostgreSQL format it) passes as is."""
    if isinstance(value, str):
        if _CANONICAL_TIMESTAMP.fullmatch(value):
            return value
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    elif value.utcoffset():
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_date(value: dt.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def entry_canonical_bytes(
    *,
    issuer_id: int,
    sequence: int,
    kind: str,
    value_date: dt.date | str,
    description: str,
    idempotency_key: str,
    reverses_sequence: int | None,
    recorded_at: dt.datetime | str,
    postings: Iterable[tuple[str, str, int]],
) -> bytes:
    """`postings` are (account_code, currency, amount_pence) in position order."""
    return _encode(
        {
            "description": description,
            "idempotency_key": idempotency_key,
            "issuer": int(issuer_id),
            "kind": kind,
            "postings": [[str(code), str(currency), int(amount)] for code, currency, amount in postings],
            "recorded_at": format_timestamp(recorded_at),
            "reverses": None if reverses_sequence is None else int(reverses_sequence),
            "sequence": int(sequence),
            "v": FORMAT_VERSION,
            "value_date": format_date(value_date),
        }
    ).encode("ascii")


# A stand-in time, already canonical; the keys after "recorded_at" ("reverses", "sequence",
# "v", "value_date") hold no caller's text, so the last occurrence of each mark is the key's own.
_STAND_IN_TIME = "0001-01-01T00:00:00.000000Z"
_TIME_MARK = ',"recorded_at":"' + _STAND_IN_TIME + '",'
_SEQUENCE_MARK = ',"sequence":0,"v":'


def entry_canonical_split(
    *,
    issuer_id: int,
    kind: str,
    value_date: dt.date | str,
    description: str,
    idempotency_key: str,
    reverses_sequence: int | None,
    postings: Iterable[tuple[str, str, int]],
) -> tuple[str, str, str]:
    """The canonical bytes of an entry whose time and sequence are not known yet, as the three
    (ASCII) texts around them: for every time t and sequence n,

        entry_canonical_bytes(recorded_at=t, sequence=n, ...)
            == (first + format_timestamp(t) + second + str(n) + third).encode("ascii")

    For a writer that lets the database take the time and the number under the chain's lock
    and apply SHA-256 there: what is hashed is still this module's encoding, nothing else's.
    """
    whole = entry_canonical_bytes(
        issuer_id=issuer_id,
        sequence=0,
        kind=kind,
        value_date=value_date,
        description=description,
        idempotency_key=idempotency_key,
        reverses_sequence=reverses_sequence,
        recorded_at=_STAND_IN_TIME,
        postings=postings,
    ).decode("ascii")
    first, time_mark, rest = whole.rpartition(_TIME_MARK)
    second, sequence_mark, third = rest.rpartition(_SEQUENCE_MARK)
    if not (time_mark and sequence_mark):  # pragma: no cover - only if the format above changed
        raise AssertionError("the canonical form is not laid out as entry_canonical_split expects")
    return first + ',"recorded_at":"', '",' + second + ',"sequence":', ',"v":' + third


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def signed_bytes(
    *,
    issuer_id: int,
    sequence: int,
    hash: str,
    signed_at: dt.datetime | str,
    key_id: str,
    tree_size: int | None = None,
    merkle_root: str | None = None,
) -> bytes:
    """What a checkpoint signature covers: the issuer's chain head at a moment, by one key.

    Format 1 (before the Merkle tree): {"hash", "issuer", "key_id", "sequence",
    "signed_at", "type": "ledger_checkpoint", "v": 1}. Format 2 adds the signed
    tree head of RFC 9162: "merkle_root" (64 hex) and "tree_size" (int, equal
    to "sequence"), with "v": 2. Old checkpoints keep verifying as format 1.
    """
    message = {
        "hash": hash,
        "issuer": int(issuer_id),
        "key_id": key_id,
        "sequence": int(sequence),
        "signed_at": format_timestamp(signed_at),
        "type": "ledger_checkpoint",
        "v": FORMAT_VERSION,
    }
    if merkle_root is not None:
        message.update({"merkle_root": merkle_root, "tree_size": int(tree_size or 0), "v": 2})
    return _encode(message).encode("ascii")


def statement_signed_bytes(
    *,
    issuer_id: int,
    from_sequence: int,
    to_sequence: int,
    prev_hash: str,
    last_hash: str,
    date_from: dt.date | str | None,
    date_to: dt.date | str,
    generated_at: dt.datetime | str,
) -> bytes:
    """What a ledger statement's signature covers (Ed25519, the checkpoint key).

    The same JSON form as above (keys sorted, no whitespace, ASCII):

        {"date_from": "YYYY-MM-DD" or null (from the ledger's start),
         "date_to": "YYYY-MM-DD", "from_sequence": int,
         "generated_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "issuer": int,
         "last_hash": 64 hex, "prev_hash": 64 hex, "to_sequence": int,
         "type": "ledger_statement", "v": 1}

    The statement holds entries `from_sequence` to `to_sequence` of the
    issuer's chain; `prev_hash` is the first one's prev_hash (the hash of the
    entry before it, 64 zeros before #1) and `last_hash` the last one's hash.
    Since each hash covers the one before, these two pin every entry in
    between: changing, dropping or reordering any of them breaks the chain
    from `prev_hash` to `last_hash`. A statement without entries has
    `to_sequence = from_sequence - 1` and `last_hash = prev_hash`: the hash of
    the last entry recorded before the period ended (64 zeros if none was).
    Dates are the UTC dates on which the entries were recorded, both
    inclusive.
    """
    return _encode(
        {
            "date_from": None if date_from is None else format_date(date_from),
            "date_to": format_date(date_to),
            "from_sequence": int(from_sequence),
            "generated_at": format_timestamp(generated_at),
            "issuer": int(issuer_id),
            "last_hash": last_hash,
            "prev_hash": prev_hash,
            "to_sequence": int(to_sequence),
            "type": "ledger_statement",
            "v": FORMAT_VERSION,
        }
    ).encode("ascii")
