#!/usr/bin/env python3

"""Check a Mutual Bonds ledger statement (the CSV) offline, without trusting the service.

    python verify_statement.py statement.csv [--public-key HEX]

Needs Python 3.10 or newer and the `cryptography` package; nothing of the
service. It prints "OK ..." and exits 0 when every check holds, or prints the
first problem (with the entry's sequence, when it is about one) and exits 1.

This is, on purpose, a second implementation of the ledger's canonical
encoding, written from the published specification below and importing
nothing from the service (whose own encoder is
`ledger/canonical.py`). An auditor checks the service with code
that is not the service's: a bug or a change in the service's encoder cannot
vouch for itself, and this file is short enough to read in full before
running it.

Get the public key from the service (GET /api/v1/ledger/public-key/, field
`public_key_hex`), ideally over a channel you trust, and pass it with
--public-key. Without it the key written in the statement itself is used,
which proves only that the file is self-consistent: anyone can sign a forged
statement with a key of their own.

The specification
-----------------
Canonical JSON: keys sorted, no whitespace (separators "," and ":"), ASCII
only (other characters as \\uXXXX escapes, as Python's json module writes
them with ensure_ascii).

Entry hash = SHA-256(prev_hash || canonical JSON of the entry), as lower-case
hex, where prev_hash is the previous entry's hash as 64 hex ASCII characters
(64 zeros before an issuer's first entry) and the entry is

    {"description": str, "idempotency_key": str, "issuer": int, "kind": str,
     "postings": [[account, currency, amount_pence], ...] in position order,
     "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "reverses": int or null,
     "sequence": int, "v": 1, "value_date": "YYYY-MM-DD"}

Positions run 0, 1, 2, ... within an entry. amount_pence is a signed integer
in minor units: positive a debit, negative a credit. Every entry has at least
two postings summing to zero per currency.

The statement's signature (Ed25519, hex) covers the canonical JSON of

    {"date_from": "YYYY-MM-DD" or null, "date_to": "YYYY-MM-DD",
     "from_sequence": int, "generated_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "issuer": int, "last_hash": hex, "prev_hash": hex, "to_sequence": int,
     "type": "ledger_statement", "v": 1}

prev_hash is the hash before entry from_sequence, last_hash the hash of entry
to_sequence (equal to prev_hash, and to_sequence = from_sequence - 1, when
the statement has no entries). A checkpoint's signature covers

    {"hash": hex, "issuer": int, "key_id": str, "sequence": int,
     "signed_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "type": "ledger_checkpoint",
     "v": 1}

and is the chain head the service signed, with the same key, when it made
the statement: the statement never goes past it, and where it falls on the
statement's last entry (a statement that runs to the day it was made) it
must name that entry's hash. Only a statement of an empty ledger has none.
A checkpoint that also signs the RFC 9162 Merkle tree head over the entry
hashes (lines checkpoint_tree_size and checkpoint_merkle_root present) is
signed over the same object with "merkle_root": hex and "tree_size": int
added and "v": 2.

A key id is the first 16 bytes of SHA-256 of the raw 32-byte public key, hex.

The file: lines "# key: value" (the facts above, the key, the signatures),
then CSV with a header row and one row per posting, the entry's own fields
repeated on each of its rows.

Format version 2 guards against spreadsheet formulas (OWASP "CSV
injection"): a text cell, that is every column but sequence, reverses,
position, amount_pence, debit and credit, that begins with "=", "+", "-",
"@", a tab, a carriage return or an apostrophe is written with one more
apostrophe in front, which a spreadsheet shows as text rather than running.
Before anything is checked or hashed, that one apostrophe is removed; a
text cell that begins with an apostrophe followed by anything else, or with
one of those characters and no apostrophe, is malformed. The numbers are
never changed: amount_pence is a signed integer
("-25000" is a credit). Version 1, written before, has no such apostrophes.
The issuer_name line is for people and not signed: after a comma, where a
spreadsheet would start a new cell, it may carry an apostrophe too.

A second use: `verify_statement.py consistency OLDER.json NEWER.json PROOF.json
--public-key HEX` checks two signed checkpoints (objects of GET
/api/v1/ledger/checkpoints/) and the RFC 9162 consistency proof between them
(GET /api/v1/ledger/consistency-proof/): that the ledger an auditor saw signed
then is the beginning of the ledger signed now, nothing rewritten.

A third: `verify_statement.py resident STATEMENT.json --public-key HEX` checks a
resident's annual statement (GET /api/v1/me/statement.json): each line's entry
hashes to its hash (the entry's canonical form, as above), each inclusion proof
(RFC 9162 §2.1.3) puts that hash in the tree whose head the checkpoint signs,
and the checkpoints' signatures hold. It sees only the resident's own lines.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "mutual-bonds-ledger-statement"
VERSIONS = ("1", "2")
GENESIS = "0" * 64
PUBLISHED_AT = "/api/v1/ledger/public-key/"
ENTRY_FIELDS = (
    "recorded_at",
    "value_date",
    "kind",
    "description",
    "idempotency_key",
    "reverses",
    "prev_hash",
    "hash",
)
COLUMNS = ("sequence", *ENTRY_FIELDS, "position", "account", "currency", "amount_pence", "debit", "credit")
NUMBER_COLUMNS = ("sequence", "reverses", "position", "amount_pence", "debit", "credit")
# What a spreadsheet reads as the start of a formula, and the apostrophe that escapes it (version 2).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
CHECKPOINT_FACTS = (
    "checkpoint_sequence",
    "checkpoint_hash",
    "checkpoint_signed_at",
    "checkpoint_key_id",
    "checkpoint_signature",
)
# The signed tree head of a format-2 checkpoint: both lines, or neither.
TREE_FACTS = ("checkpoint_tree_size", "checkpoint_merkle_root")
# Every "# key: value" line of format version 1; issuer_name is for people and is not signed.
FACTS = (
    "format",
    "format_version",
    "issuer",
    "issuer_name",
    "date_from",
    "date_to",
    "from_sequence",
    "to_sequence",
    "prev_hash",
    "last_hash",
    "generated_at",
    "algorithm",
    "key_id",
    "public_key",
    "signature",
    *CHECKPOINT_FACTS,
)

HEX64 = re.compile(r"[0-9a-f]{64}")
COUNT = re.compile(r"0|[1-9][0-9]*")
SEQUENCE = re.compile(r"[1-9][0-9]*")
AMOUNT = re.compile(r"-?[1-9][0-9]*")
CURRENCY = re.compile(r"[A-Z]{3}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


class Problem(Exception):
    def __init__(self, reason: str, sequence: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.sequence = sequence

    def __str__(self) -> str:
        return f"at #{self.sequence}: {self.reason}" if self.sequence is not None else self.reason


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def checkpoint_signed_bytes(
    *,
    issuer: int,
    sequence: int,
    hash: str,
    signed_at: str,
    key_id: str,
    tree_size: int | None = None,
    merkle_root: str | None = None,
) -> bytes:
    """What a checkpoint's signature covers: format 1, or format 2 with the Merkle tree head."""
    signed = {
        "hash": hash,
        "issuer": issuer,
        "key_id": key_id,
        "sequence": sequence,
        "signed_at": signed_at,
        "type": "ledger_checkpoint",
        "v": 1,
    }
    if merkle_root is not None:
        signed.update({"merkle_root": merkle_root, "tree_size": tree_size, "v": 2})
    return canonical(signed)


def key_id_of(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()[:32]


def money(pence: int) -> str:
    """What the debit and credit columns must say: 25000 -> "250.00"."""
    return f"{pence // 100}.{pence % 100:02d}"


def is_date(text: str) -> bool:
    if not DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_timestamp(text: str) -> bool:
    if not TIMESTAMP.fullmatch(text):
        return False
    try:
        dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


# Reading the file


def unescaped(column: str, value: str, number: int) -> str:
    """A version 2 text cell as it was hashed: without the apostrophe that kept it from being a formula."""
    if column in NUMBER_COLUMNS or not value.startswith(FORMULA_STARTS):
        return value
    if not value.startswith("'"):
        raise Problem(
            f"CSV row {number}: {column} would run as a formula in a spreadsheet, and the service always "
            "escapes such cells: the file was changed (do not open it in a spreadsheet)"
        )
    if not value[1:].startswith(FORMULA_STARTS):
        raise Problem(f"CSV row {number}: {column} has an apostrophe in front that nothing needed")
    return value[1:]


def read_statement(lines):
    """(the "# key: value" facts, an iterator of row dicts) from the file's lines."""
    facts: dict[str, str] = {}
    first = None
    for line in lines:
        if not line.startswith("#"):
            first = line
            break
        key, colon, value = line[1:].partition(":")
        if not colon:
            raise Problem(f"a comment line is not '# key: value': {line.strip()!r}")
        facts[key.strip()] = value.strip()
    if first is None:
        raise Problem("the file has no header row")
    reader = csv.reader(itertools.chain([first], lines))
    header = next(reader)
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise Problem(f"the header row lacks the columns {', '.join(missing)}")

    escaped = facts.get("format_version") == "2"

    def rows():
        for number, values in enumerate(reader, start=2):
            if len(values) != len(header):
                raise Problem(f"CSV row {number} has {len(values)} fields, not {len(header)}")
            row = dict(zip(header, values, strict=True))
            if escaped:
                row = {column: unescaped(column, value, number) for column, value in row.items()}
            yield row

    return facts, rows()


def fact(facts: dict[str, str], key: str, pattern: re.Pattern[str] | None = None, *, blank=False) -> str:
    value = facts.get(key)
    if value is None:
        raise Problem(f"the statement does not say its {key}")
    if blank and value == "":
        return value
    if pattern is not None and not pattern.fullmatch(value):
        raise Problem(f"the statement's {key} is malformed: {value!r}")
    return value


# The signatures


def check_signatures(
    facts: dict[str, str], public_key_hex: str | None
) -> tuple[str, list[str], tuple[int, str] | None]:
    """Check the statement's signature and the checkpoint's.

    Returns the key id, warnings, and the checkpoint's (sequence, hash) if its signature held.
    """
    warnings = []
    checkpoint = None
    if fact(facts, "format") != FORMAT:
        raise Problem(f"not a ledger statement (format {facts['format']!r})")
    if fact(facts, "format_version") not in VERSIONS:
        raise Problem(f"format version {facts['format_version']!r} is not one this verifier knows")
    unknown = sorted(set(facts) - set(FACTS) - set(TREE_FACTS))
    if unknown:
        raise Problem(f"the statement has lines this format does not define: {', '.join(unknown)}")
    missing = [key for key in FACTS if key not in facts]
    if missing:
        raise Problem(f"the statement lacks the lines {', '.join(missing)}")
    if fact(facts, "algorithm") != "Ed25519":
        raise Problem(f"signed with {facts['algorithm']!r}, not Ed25519")
    in_file = fact(facts, "public_key", HEX64)
    if public_key_hex is None:
        public_key_hex = in_file
        warnings.append(
            "checked against the public key written in the statement itself, which proves nothing unless "
            f"it is the key published at {PUBLISHED_AT} (public_key_hex {in_file}): pass --public-key"
        )
    elif public_key_hex != in_file:
        warnings.append("the statement names another public key than the one given; the given one is used")
    raw = bytes.fromhex(public_key_hex)
    key = Ed25519PublicKey.from_public_bytes(raw)
    key_id = key_id_of(raw)
    if fact(facts, "key_id") != key_id:
        raise Problem(f"signed by key id {facts['key_id']!r}, not by this key ({key_id})")
    date_from = fact(facts, "date_from", DATE, blank=True)
    if date_from and not is_date(date_from):
        raise Problem(f"the statement's date_from is not a date: {date_from!r}")
    date_to = fact(facts, "date_to", DATE)
    generated_at = fact(facts, "generated_at", TIMESTAMP)
    if not (is_date(date_to) and is_timestamp(generated_at)):
        raise Problem("the statement's date_to or generated_at is not a real date")
    message = canonical(
        {
            "date_from": date_from or None,
            "date_to": date_to,
            "from_sequence": int(fact(facts, "from_sequence", SEQUENCE)),
            "generated_at": generated_at,
            "issuer": int(fact(facts, "issuer", SEQUENCE)),
            "last_hash": fact(facts, "last_hash", HEX64),
            "prev_hash": fact(facts, "prev_hash", HEX64),
            "to_sequence": int(fact(facts, "to_sequence", COUNT)),
            "type": "ledger_statement",
            "v": 1,
        }
    )
    if not verified(key, fact(facts, "signature"), message):
        raise Problem("the statement's signature does not verify: its facts are not what was signed")

    # The chain head the service signed at the cut-off, with the same key; none while the ledger
    # was empty.
    if any(facts[key] for key in CHECKPOINT_FACTS):
        if fact(facts, "checkpoint_key_id") != key_id:
            raise Problem(f"the checkpoint is not signed by key {key_id}, as the statement is")
        tree = any(facts.get(key) for key in TREE_FACTS)
        sequence = int(fact(facts, "checkpoint_sequence", SEQUENCE))
        tree_size = int(fact(facts, "checkpoint_tree_size", SEQUENCE)) if tree else None
        if tree and tree_size != sequence:
            raise Problem("the checkpoint's tree size is not its sequence")
        message = checkpoint_signed_bytes(
            issuer=int(facts["issuer"]),
            sequence=sequence,
            hash=fact(facts, "checkpoint_hash", HEX64),
            signed_at=fact(facts, "checkpoint_signed_at", TIMESTAMP),
            key_id=key_id,
            tree_size=tree_size,
            merkle_root=fact(facts, "checkpoint_merkle_root", HEX64) if tree else None,
        )
        if not verified(key, fact(facts, "checkpoint_signature"), message):
            raise Problem("the checkpoint's signature does not verify")
        checkpoint = (int(facts["checkpoint_sequence"]), facts["checkpoint_hash"])
        if checkpoint[0] < int(facts["to_sequence"]):
            raise Problem("the statement goes past the checkpoint signed at its cut-off")
    elif facts["to_sequence"] != "0":
        raise Problem("the statement has entries but no signed checkpoint")
    return key_id, warnings, checkpoint


def verified(key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


# The entries


def entry_from_rows(sequence: int, rows: list[dict[str, str]]) -> dict:
    first = rows[0]
    for row in rows[1:]:
        for name in ENTRY_FIELDS:
            if row[name] != first[name]:
                raise Problem(f"its rows disagree on {name}", sequence)
    if not is_timestamp(first["recorded_at"]):
        raise Problem(f"recorded_at {first['recorded_at']!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ", sequence)
    if not is_date(first["value_date"]):
        raise Problem(f"value_date {first['value_date']!r} is not a date", sequence)
    if first["reverses"] and not SEQUENCE.fullmatch(first["reverses"]):
        raise Problem(f"reverses {first['reverses']!r} is not a sequence", sequence)
    for name in ("prev_hash", "hash"):
        if not HEX64.fullmatch(first[name]):
            raise Problem(f"{name} is not 64 lower-case hex characters", sequence)

    postings = []
    for row in rows:
        if not COUNT.fullmatch(row["position"]):
            raise Problem(f"position {row['position']!r} is not a number", sequence)
        if not AMOUNT.fullmatch(row["amount_pence"]):
            raise Problem(f"amount_pence {row['amount_pence']!r} is not a nonzero whole number", sequence)
        if not CURRENCY.fullmatch(row["currency"]):
            raise Problem(f"currency {row['currency']!r} is not a currency code", sequence)
        amount = int(row["amount_pence"])
        if row["debit"] != money(max(amount, 0)) or row["credit"] != money(max(-amount, 0)):
            raise Problem(
                f"debit {row['debit']} / credit {row['credit']} do not say amount_pence {amount}", sequence
            )
        postings.append((int(row["position"]), row["account"], row["currency"], amount))
    postings.sort()
    if [position for position, *_ in postings] != list(range(len(postings))):
        raise Problem("the postings' positions are not 0, 1, 2, ...", sequence)
    if len(postings) < 2:
        raise Problem("fewer than two postings", sequence)
    totals: dict[str, int] = {}
    for _, _, currency, amount in postings:
        totals[currency] = totals.get(currency, 0) + amount
    if any(totals.values()):
        raise Problem("its postings do not sum to zero per currency", sequence)
    return {
        "description": first["description"],
        "idempotency_key": first["idempotency_key"],
        "kind": first["kind"],
        "postings": [[account, currency, amount] for _, account, currency, amount in postings],
        "recorded_at": first["recorded_at"],
        "reverses": int(first["reverses"]) if first["reverses"] else None,
        "sequence": sequence,
        "v": 1,
        "value_date": first["value_date"],
    }


def check_entries(facts: dict[str, str], rows, checkpoint: tuple[int, str] | None) -> tuple[int, int]:
    """Recompute the chain from the rows; returns (entries, postings) checked."""
    issuer = int(facts["issuer"])
    from_sequence, to_sequence = int(facts["from_sequence"]), int(facts["to_sequence"])
    if to_sequence < from_sequence - 1:
        raise Problem(f"to_sequence {to_sequence} is before from_sequence {from_sequence}")
    previous = facts["prev_hash"]
    # Where the signed checkpoint falls within the statement, it must name the same hash.
    checkpoint_sequence, checkpoint_hash = checkpoint or (None, None)
    if checkpoint_sequence == from_sequence - 1 and checkpoint_hash != previous:
        raise Problem("the signed checkpoint names another hash for the entry before the statement")
    expected = from_sequence
    entries = postings = 0
    for text, group in itertools.groupby(rows, key=lambda row: row["sequence"]):
        if not SEQUENCE.fullmatch(text):
            raise Problem(f"a row's sequence {text!r} is not a sequence number")
        sequence = int(text)
        if sequence > to_sequence:
            raise Problem(f"the statement ends at #{to_sequence}, yet has this entry", sequence)
        if sequence != expected:
            if sequence > expected:
                raise Problem(f"entry #{expected} is missing (the next one is #{sequence})", expected)
            raise Problem("this entry is out of order or there twice", sequence)
        group_rows = list(group)
        entry = entry_from_rows(sequence, group_rows)
        entry["issuer"] = issuer
        if group_rows[0]["prev_hash"] != previous:
            raise Problem(
                "prev_hash is not the previous entry's hash (or the statement's prev_hash)", sequence
            )
        digest = hashlib.sha256(previous.encode("ascii") + canonical(entry)).hexdigest()
        if digest != group_rows[0]["hash"]:
            raise Problem("hash does not match the entry's contents: it was changed", sequence)
        if sequence == checkpoint_sequence and checkpoint_hash != digest:
            raise Problem("the signed checkpoint names another hash for this entry", sequence)
        previous = digest
        expected += 1
        entries += 1
        postings += len(group_rows)
    if expected <= to_sequence:
        raise Problem(f"entries #{expected} to #{to_sequence} are missing from the end", expected)
    if previous != facts["last_hash"]:
        raise Problem("the chain does not end at the signed last_hash")
    return entries, postings


def verify(path: str, public_key_hex: str | None) -> tuple[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        facts, rows = read_statement(f)
        key_id, warnings, checkpoint = check_signatures(facts, public_key_hex)
        entries, postings = check_entries(facts, rows, checkpoint)
    period = f"{facts['date_from'] or 'the start'} to {facts['date_to']}"
    summary = (
        f"OK: issuer {facts['issuer']}, entries recorded {period}: #{facts['from_sequence']} to "
        f"#{facts['to_sequence']} ({entries} entries, {postings} postings), chain from "
        f"{facts['prev_hash'][:16]}... to {facts['last_hash'][:16]}..., signed by key {key_id}."
    )
    return summary, warnings


# --- Merkle tree heads (RFC 9162 §2.1): the ledger has only grown between two checkpoints ---
#
# Written out here, not imported, like everything in this file: the service's own code is
# ledger/merkle.py, and this is the RFC's verification algorithm (§2.1.4.2) again, so that a
# checker needs nothing of the service.


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistency_holds(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def checkpoint_verified(checkpoint: dict, key: Ed25519PublicKey, key_id: str) -> tuple[int, bytes]:
    """A format-2 checkpoint (as GET /api/v1/ledger/checkpoints/ gives it) signed by the key: (tree size, root)."""
    if checkpoint.get("key_id") != key_id:
        raise Problem(f"checkpoint #{checkpoint.get('sequence')} is not signed by key {key_id}")
    if not checkpoint.get("merkle_root") or not checkpoint.get("tree_size"):
        raise Problem(f"checkpoint #{checkpoint.get('sequence')} signs no Merkle tree head (format 1)")
    message = checkpoint_signed_bytes(
        issuer=int(checkpoint["issuer"]),
        sequence=int(checkpoint["sequence"]),
        hash=checkpoint["hash"],
        signed_at=checkpoint["signed_at"],
        key_id=key_id,
        tree_size=int(checkpoint["tree_size"]),
        merkle_root=checkpoint["merkle_root"],
    )
    if not verified(key, checkpoint.get("signature", ""), message):
        raise Problem(f"checkpoint #{checkpoint['sequence']}'s signature does not verify")
    return int(checkpoint["tree_size"]), bytes.fromhex(checkpoint["merkle_root"])


def verify_consistency(older_path: str, newer_path: str, proof_path: str, public_key_hex: str) -> str:
    """Two checkpoints the service signed, and the proof it gives between them: OK or a Problem."""
    raw = bytes.fromhex(public_key_hex)
    key, key_id = Ed25519PublicKey.from_public_bytes(raw), key_id_of(raw)
    with open(older_path) as f1, open(newer_path) as f2, open(proof_path) as f3:
        older, newer, proof = json.load(f1), json.load(f2), json.load(f3)
    if older.get("issuer") != newer.get("issuer") or older.get("issuer") != proof.get("issuer"):
        raise Problem("the checkpoints and the proof are not of one issuer")
    first, first_root = checkpoint_verified(older, key, key_id)
    second, second_root = checkpoint_verified(newer, key, key_id)
    if (proof.get("first"), proof.get("second")) != (first, second):
        raise Problem(
            f"the proof is for tree sizes {proof.get('first')} to {proof.get('second')}, not {first} to {second}"
        )
    nodes = [bytes.fromhex(node) for node in proof.get("proof", [])]
    if not consistency_holds(first, second, first_root, second_root, nodes):
        raise Problem(
            f"the tree of {second} entries does not extend the signed tree of {first}: history was rewritten"
        )
    return f"OK: issuer {older['issuer']}: the ledger of {second} entries extends the one of {first} signed on {older['signed_at']}."


def inclusion_holds(leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: the audit path puts `leaf` at `index` in the tree with `root`."""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_resident_statement(path: str, public_key_hex: str) -> tuple[str, list[str]]:
    """A resident's annual statement (GET /api/v1/me/statement.json): every line's entry
    recomputes to its hash, every inclusion proof puts that hash in a tree whose head the
    service signed, and the signatures hold. Nobody else's data is needed or shown."""
    raw = bytes.fromhex(public_key_hex)
    key, key_id = Ed25519PublicKey.from_public_bytes(raw), key_id_of(raw)
    with open(path) as f:
        statement = json.load(f)
    heads = {}
    for checkpoint in statement.get("checkpoints", []):
        size, root = checkpoint_verified(checkpoint, key, key_id)
        heads[(int(checkpoint["issuer"]), int(checkpoint["sequence"]))] = (size, root)
    warnings, lines = [], 0
    for holding in statement.get("holdings", []):
        for line in holding.get("lines", []):
            entry = line["entry"]
            sequence = int(entry["sequence"])
            content = {
                "description": entry["description"],
                "idempotency_key": entry["idempotency_key"],
                "issuer": int(entry["issuer"]),
                "kind": entry["kind"],
                "postings": [[a, c, int(m)] for a, c, m in entry["postings"]],
                "recorded_at": entry["recorded_at"],
                "reverses": entry["reverses"],
                "sequence": sequence,
                "v": 1,
                "value_date": entry["value_date"],
            }
            digest = hashlib.sha256(entry["prev_hash"].encode("ascii") + canonical(content)).hexdigest()
            if digest != entry["hash"]:
                raise Problem("the line's entry does not hash to its hash: it was changed", sequence)
            proof = line.get("inclusion_proof")
            if proof is None:
                warnings.append(
                    f"entry #{sequence} of issuer {entry['issuer']} is newer than its signed checkpoint"
                )
                continue
            head = heads.get((int(entry["issuer"]), int(proof["checkpoint_sequence"])))
            if head is None:
                raise Problem("the proof names a checkpoint the statement does not carry", sequence)
            size, root = head
            if (int(proof["tree_size"]), proof["merkle_root"]) != (size, root.hex()):
                raise Problem("the proof's tree head is not the signed one", sequence)
            leaf = hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
            path_nodes = [bytes.fromhex(node) for node in proof["audit_path"]]
            if int(proof["leaf_index"]) != sequence - 1 or not inclusion_holds(
                leaf, sequence - 1, size, path_nodes, root
            ):
                raise Problem("the inclusion proof does not put this entry in the signed tree", sequence)
            lines += 1
    return (
        f"OK: {lines} lines of {statement.get('holder', {}).get('name', 'the resident')}'s statement for {statement.get('year')} are in the signed ledgers, signed by key {key_id}.",
        warnings,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["consistency"]:
        return consistency_main(argv[1:])
    if argv[:1] == ["resident"]:
        return resident_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("statement", help="the statement CSV (GET /api/v1/ledger/statement.csv)")
    parser.add_argument(
        "--public-key",
        metavar="HEX",
        help=f"the service's Ed25519 public key (public_key_hex at {PUBLISHED_AT})",
    )
    args = parser.parse_args(argv)
    public_key = args.public_key.strip().lower() if args.public_key else None
    if public_key is not None and not HEX64.fullmatch(public_key):
        parser.error("--public-key must be 64 hex characters (public_key_hex)")
    try:
        summary, warnings = verify(args.statement, public_key)
    except Problem as problem:
        print(f"FAILED {problem}" if problem.sequence is not None else f"FAILED: {problem}")
        return 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"FAILED: cannot read {args.statement}: {exc}")
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary)
    return 0


def resident_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_statement.py resident",
        description="Check a resident's annual statement (JSON) against the service's signed ledgers.",
    )
    parser.add_argument("statement", help="GET /api/v1/me/statement.json?year=, saved as a file")
    parser.add_argument(
        "--public-key", metavar="HEX", required=True, help=f"public_key_hex at {PUBLISHED_AT}"
    )
    args = parser.parse_args(argv)
    if not HEX64.fullmatch(args.public_key.strip().lower()):
        parser.error("--public-key must be 64 hex characters (public_key_hex)")
    try:
        summary, warnings = verify_resident_statement(args.statement, args.public_key.strip().lower())
    except Problem as problem:
        print(f"FAILED {problem}" if problem.sequence is not None else f"FAILED: {problem}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: cannot read the statement: {exc}")
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary)
    return 0


def consistency_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_statement.py consistency",
        description="Check that an issuer's ledger has only grown between two signed checkpoints.",
    )
    parser.add_argument(
        "older", help="the older checkpoint, one object of GET /api/v1/ledger/checkpoints/, as JSON"
    )
    parser.add_argument("newer", help="the newer checkpoint, as JSON")
    parser.add_argument("proof", help="GET /api/v1/ledger/consistency-proof/?issuer=&first=&second=, as JSON")
    parser.add_argument(
        "--public-key", metavar="HEX", required=True, help=f"public_key_hex at {PUBLISHED_AT}"
    )
    args = parser.parse_args(argv)
    if not HEX64.fullmatch(args.public_key.strip().lower()):
        parser.error("--public-key must be 64 hex characters (public_key_hex)")
    try:
        print(verify_consistency(args.older, args.newer, args.proof, args.public_key.strip().lower()))
    except Problem as problem:
        print(f"FAILED: {problem}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: cannot read the checkpoints or the proof: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
