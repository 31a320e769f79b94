"""Ledger statements: an issuer's entries over a period, signed, for an auditor to check offline.

Which entries: those RECORDED (the UTC date of `recorded_at`) from `date_from`
to `date_to`, both inclusive. Not the value date: a value date can be
backdated (a bank receipt entered a week late carries the day the money
arrived), so cutting by it would put entries recorded after an earlier
statement back into that statement's period, and two statements could no
longer be laid end to end. Recording order is chain order (each post takes the
issuer's head lock, the next sequence and the time in one transaction), so the
entries recorded in a period are one contiguous run of sequences,
`from_sequence` to `to_sequence`. The run is taken from the first to the last
sequence recorded in the period, so it is contiguous even if a server clock
ever stepped back.

The cut-off: building a statement signs the chain head (`checkpoint_sign`,
which first verifies the whole chain and refuses a broken one), and the
statement holds nothing past that checkpoint. An entry posted while the
statement is being made belongs to the next one.

The statement is signed with the checkpoint key over
`canonical.statement_signed_bytes`: issuer, sequences, dates, the time it was
made and two hashes, the chain before its first entry (`prev_hash`) and after
its last (`last_hash`). Each entry's hash covers the one before, so those two
pin every entry in between. The CSV carries everything needed to recompute
those hashes; `tools/verify_statement.py` checks it without our code.

Spreadsheets run a cell that begins with `=`, `+`, `-` or `@` (or a tab or a
carriage return) as a formula, and a description is free text
(`=HYPERLINK(...)`, OWASP "CSV injection"). So, from format version 2, a text
cell (every column but the numbers: sequence, reverses, position,
amount_pence, debit, credit) that begins with one of those characters, or
with an apostrophe, is written with one apostrophe in front, which a
spreadsheet shows as text; the verifier removes exactly that one apostrophe
before it hashes. Amounts stay numbers (`-25000` is a credit). The unsigned
`issuer_name` line, for people only, gets an apostrophe wherever a
spreadsheet would start a cell with such a character (after a comma).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from django.db.models import Max, Min
from django.utils import timezone

from bondplatform.errors import BadInput
from bondplatform.money import format_pence
from ledger.canonical import GENESIS_HASH, format_date, format_timestamp, statement_signed_bytes
from ledger.models import LedgerCheckpoint, LedgerEntry, LedgerPosting
from ledger.signing import ALGORITHM, checkpoint_sign, public_key_info, signing_key
from ledger.statement_pdf import pdf_join, statement_pdf_parts

__all__ = [
    "CSV_COLUMNS",
    "CSV_FORMAT",
    "CSV_TEXT_COLUMNS",
    "PDF_MAX_POSTINGS",
    "Statement",
    "StatementEntry",
    "StatementPosting",
    "statement_build",
    "statement_csv_lines",
    "statement_filename",
    "statement_pdf",
    "statement_title",
]

CSV_FORMAT = "mutual-bonds-ledger-statement"
# 2: text cells that a spreadsheet would run as a formula carry a leading apostrophe (above).
CSV_FORMAT_VERSION = 2
# One row per posting; the entry's own fields are repeated on each of its rows.
CSV_COLUMNS = (
    "sequence",
    "recorded_at",
    "value_date",
    "kind",
    "description",
    "idempotency_key",
    "reverses",
    "position",
    "account",
    "currency",
    "amount_pence",
    "debit",
    "credit",
    "prev_hash",
    "hash",
)
# The columns that hold text, neutralised against formulas; the others are whole numbers.
CSV_NUMBER_COLUMNS = frozenset({"sequence", "reverses", "position", "amount_pence", "debit", "credit"})
CSV_TEXT_COLUMNS = tuple(column for column in CSV_COLUMNS if column not in CSV_NUMBER_COLUMNS)
# What makes a spreadsheet read a cell as a formula; the apostrophe is escaped too, so
# that removing one leading apostrophe always gives back the text that was hashed.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
# In the free-text preamble line, whose first cell starts with "#": a spreadsheet starts
# a new cell after each comma; there, past any spaces and quotes, a formula character.
_PREAMBLE_FORMULA = re.compile(r"""(,[\s"]*)(?=[=+\-@])""")
# What a web request waits for: laid out in parts (ledger.statement_pdf), 2,000
# postings take about 12 s on a 2-core machine. A longer period is made in the
# background (ledger.statement_jobs), or read as the CSV, which streams.
PDF_MAX_POSTINGS = 2_000
STATEMENT_JOBS_PATH = "/api/v1/ledger/statement-jobs/"
# Entries read per pair of queries while writing a statement out.
_CHUNK = 2_000
# CSV rows sent to the client at a time.
_ROWS_PER_WRITE = 1_000


@dataclass(frozen=True)
class StatementPosting:
    position: int
    account: str
    currency: str
    # Signed like every posting: positive is a debit, negative a credit.
    amount_pence: int

    @property
    def debit_pence(self) -> int:
        return max(self.amount_pence, 0)

    @property
    def credit_pence(self) -> int:
        return max(-self.amount_pence, 0)


@dataclass(frozen=True)
class StatementEntry:
    sequence: int
    recorded_at: str  # canonical, exactly as hashed
    value_date: str
    kind: str
    description: str
    idempotency_key: str
    reverses: int | None  # the sequence of the entry this one reverses
    postings: tuple[StatementPosting, ...]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Statement:
    issuer_id: int
    issuer_name: str
    date_from: dt.date | None  # None: from the ledger's first entry
    date_to: dt.date
    from_sequence: int
    to_sequence: int  # from_sequence - 1 when the period has no entries
    prev_hash: str
    last_hash: str
    generated_at: dt.datetime
    posting_count: int
    key_id: str
    public_key_hex: str
    signature: str
    # The chain head signed at the cut-off; None while the ledger is empty.
    checkpoint: LedgerCheckpoint | None
    algorithm: str = field(default=ALGORITHM)

    @property
    def entry_count(self) -> int:
        return self.to_sequence - self.from_sequence + 1

    def message(self) -> bytes:
        """The bytes `signature` signs."""
        return statement_signed_bytes(
            issuer_id=self.issuer_id,
            from_sequence=self.from_sequence,
            to_sequence=self.to_sequence,
            prev_hash=self.prev_hash,
            last_hash=self.last_hash,
            date_from=self.date_from,
            date_to=self.date_to,
            generated_at=self.generated_at,
        )

    def entries(self) -> Iterator[StatementEntry]:
        """The statement's entries in chain order with their postings, read a chunk at a time."""
        for low in range(self.from_sequence, self.to_sequence + 1, _CHUNK):
            high = min(low + _CHUNK - 1, self.to_sequence)
            yield from _entries_between(self.issuer_id, low, high)

    def entries_between(self, low: int, high: int) -> Iterator[StatementEntry]:
        """The entries from sequence `low` to `high` (both inside the statement), one read."""
        yield from _entries_between(self.issuer_id, max(low, self.from_sequence), min(high, self.to_sequence))


def _entries_between(issuer_id: int, low: int, high: int) -> Iterator[StatementEntry]:
    legs: dict[int, list[StatementPosting]] = {}
    postings = (
        LedgerPosting.objects.filter(entry__issuer_id=issuer_id, entry__sequence__range=(low, high))
        .order_by("entry_id", "position")
        .values_list("entry_id", "position", "account__code", "currency", "amount_pence")
    )
    for entry_id, position, code, currency, amount in postings:
        legs.setdefault(entry_id, []).append(StatementPosting(position, code, currency, amount))
    entries = (
        LedgerEntry.objects.filter(issuer_id=issuer_id, sequence__range=(low, high))
        .order_by("sequence")
        .values_list(
            "id",
            "sequence",
            "recorded_at",
            "value_date",
            "kind",
            "description",
            "idempotency_key",
            "reverses__sequence",
            "prev_hash",
            "hash",
        )
    )
    for (
        entry_id,
        sequence,
        recorded_at,
        value_date,
        kind,
        description,
        key,
        reverses,
        prev,
        digest,
    ) in entries:
        yield StatementEntry(
            sequence=sequence,
            recorded_at=format_timestamp(recorded_at),
            value_date=format_date(value_date),
            kind=kind,
            description=description,
            idempotency_key=key,
            reverses=reverses,
            postings=tuple(legs.get(entry_id, ())),
            prev_hash=prev,
            hash=digest,
        )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _sequence_range(
    issuer_id: int, date_from: dt.date | None, date_to: dt.date, cutoff: int
) -> tuple[int, int]:
    """(first, last) sequence recorded in the period, up to the cut-off; (n + 1, n) when
    nothing was, n being the last entry recorded before the period ended."""
    upto = LedgerEntry.objects.filter(issuer_id=issuer_id, sequence__lte=cutoff)
    if date_to < dt.date.max:
        upto = upto.filter(recorded_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    period = upto if date_from is None else upto.filter(recorded_at__gte=_day_start(date_from))
    bounds = period.aggregate(first=Min("sequence"), last=Max("sequence"))
    if bounds["first"] is not None:
        return bounds["first"], bounds["last"]
    last = upto.aggregate(last=Max("sequence"))["last"] or 0
    return last + 1, last


def _hash_at(issuer_id: int, sequence: int) -> str:
    """The chain's hash after entry `sequence` (64 zeros before the first)."""
    if sequence < 1:
        return GENESIS_HASH
    return LedgerEntry.objects.values_list("hash", flat=True).get(issuer_id=issuer_id, sequence=sequence)


def statement_build(*, issuer, date_from: dt.date | None = None, date_to: dt.date | None = None) -> Statement:
    """Sign the chain head (the cut-off), select the entries recorded in the period, sign the statement.

    `date_to` defaults to today (UTC), `date_from` to the ledger's start.
    Raises RuleViolation `ledger_invalid` if the chain fails verification.
    """
    if date_to is None:
        date_to = timezone.now().astimezone(dt.UTC).date()
    if date_from is not None and date_from > date_to:
        raise BadInput("The period ends before it starts.", fields={"to": ["Must not be before from."]})
    checkpoint = checkpoint_sign(issuer=issuer)
    generated_at = timezone.now()
    cutoff = checkpoint.sequence if checkpoint is not None else 0
    first, last = _sequence_range(issuer.pk, date_from, date_to, cutoff)
    prev_hash = _hash_at(issuer.pk, first - 1)
    last_hash = _hash_at(issuer.pk, last) if last >= first else prev_hash
    posting_count = LedgerPosting.objects.filter(
        entry__issuer_id=issuer.pk, entry__sequence__range=(first, last)
    ).count()
    key = public_key_info()
    unsigned = Statement(
        issuer_id=issuer.pk,
        issuer_name=issuer.name,
        date_from=date_from,
        date_to=date_to,
        from_sequence=first,
        to_sequence=last,
        prev_hash=prev_hash,
        last_hash=last_hash,
        generated_at=generated_at,
        posting_count=posting_count,
        key_id=key.key_id,
        public_key_hex=key.public_key_hex,
        signature="",
        checkpoint=checkpoint,
    )
    signature = signing_key().sign(unsigned.message()).hex()
    return replace(unsigned, signature=signature)


def statement_filename(statement: Statement, extension: str) -> str:
    start = format_date(statement.date_from) if statement.date_from else "start"
    return f"ledger-{statement.issuer_id}-{start}-{format_date(statement.date_to)}.{extension}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def csv_text_cell(text: str) -> str:
    """A text cell as written: one apostrophe in front if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _preamble_text(text: str) -> str:
    return _PREAMBLE_FORMULA.sub(r"\1'", _one_line(text))


def _csv_preamble(statement: Statement) -> list[tuple[str, object]]:
    checkpoint = statement.checkpoint
    return [
        ("format", CSV_FORMAT),
        ("format_version", CSV_FORMAT_VERSION),
        ("issuer", statement.issuer_id),
        ("issuer_name", _preamble_text(statement.issuer_name)),
        ("date_from", format_date(statement.date_from) if statement.date_from else ""),
        ("date_to", format_date(statement.date_to)),
        ("from_sequence", statement.from_sequence),
        ("to_sequence", statement.to_sequence),
        ("prev_hash", statement.prev_hash),
        ("last_hash", statement.last_hash),
        ("generated_at", format_timestamp(statement.generated_at)),
        ("algorithm", statement.algorithm),
        ("key_id", statement.key_id),
        ("public_key", statement.public_key_hex),
        ("signature", statement.signature),
        ("checkpoint_sequence", checkpoint.sequence if checkpoint else ""),
        ("checkpoint_hash", checkpoint.hash if checkpoint else ""),
        ("checkpoint_signed_at", format_timestamp(checkpoint.signed_at) if checkpoint else ""),
        ("checkpoint_key_id", checkpoint.key_id if checkpoint else ""),
        ("checkpoint_signature", checkpoint.signature if checkpoint else ""),
        # A format-2 checkpoint also signs the Merkle tree head (RFC 9162).
        *(
            [
                ("checkpoint_tree_size", checkpoint.tree_size),
                ("checkpoint_merkle_root", checkpoint.merkle_root),
            ]
            if checkpoint is not None and checkpoint.merkle_root
            else []
        ),
    ]


def statement_csv_lines(statement: Statement) -> Iterator[str]:
    """The CSV, a block of lines at a time (for a StreamingHttpResponse).

    First `# key: value` lines (the signed facts, the key, the signature and
    the checkpoint), then a header row and one row per posting, its text cells
    neutralised against formulas (`csv_text_cell`).
    """
    yield "".join(f"# {key}: {value}\r\n" for key, value in _csv_preamble(statement))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = 1
    for entry in statement.entries():
        reverses = "" if entry.reverses is None else entry.reverses
        for posting in entry.postings:
            writer.writerow(
                (
                    entry.sequence,
                    csv_text_cell(entry.recorded_at),
                    csv_text_cell(entry.value_date),
                    csv_text_cell(entry.kind),
                    csv_text_cell(entry.description),
                    csv_text_cell(entry.idempotency_key),
                    reverses,
                    posting.position,
                    csv_text_cell(posting.account),
                    csv_text_cell(posting.currency),
                    posting.amount_pence,
                    format_pence(posting.debit_pence),
                    format_pence(posting.credit_pence),
                    csv_text_cell(entry.prev_hash),
                    csv_text_cell(entry.hash),
                )
            )
            rows += 1
        if rows >= _ROWS_PER_WRITE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            rows = 0
    if buffer.tell():
        yield buffer.getvalue()


def statement_pdf(statement: Statement) -> bytes:
    """The statement for people to read, with what an auditor needs to check it against the CSV.

    Laid out a part at a time (`ledger.statement_pdf`). Refuses (400
    `statement_too_large`) past PDF_MAX_POSTINGS postings, which is what a
    web request can wait for: a longer period is made in the background
    (POST ledger/statement-jobs/), or read as the CSV.
    """
    if statement.posting_count > PDF_MAX_POSTINGS:
        raise BadInput(
            f"This period has {statement.posting_count:,} postings and a PDF statement made at once holds at most "
            f"{PDF_MAX_POSTINGS:,}: ask for it in the background (POST {STATEMENT_JOBS_PATH} with the same "
            "issuer, from and to), download the CSV (ledger/statement.csv), or ask for a shorter period.",
            code="statement_too_large",
            extra={
                "postings": statement.posting_count,
                "max_postings": PDF_MAX_POSTINGS,
                "statement_jobs": STATEMENT_JOBS_PATH,
            },
        )
    parts = [part.pdf for part in statement_pdf_parts(statement)]
    if len(parts) == 1:
        return parts[0]
    out = io.BytesIO()
    pdf_join(parts, out, title=statement_title(statement))
    return out.getvalue()


def statement_title(statement: Statement) -> str:
    start = format_date(statement.date_from) if statement.date_from else "the ledger's start"
    return f"Ledger statement: {statement.issuer_name}, {start} to {format_date(statement.date_to)}"
