"""Ledger statements as PDF, of any size: laid out a part at a time and joined into one file.

Why parts: WeasyPrint lays a table out in Python, in memory, and the cost of
a row grows with the size of the table it is in. Measured on a 2-core
machine: 250 postings in one table take 1.5 s, 1,000 take 6.5 s and 220 MB,
2,000 take 18 s and 390 MB, and 20,000 take three minutes and 2.8 GB
(bench/statements.py). A part of `PART_POSTINGS` postings always costs the
same, so a statement's time grows linearly with its postings and its memory
stays that of one part (the joined file is written out part by part).

A part is a run of whole entries (an entry's postings are never split
between parts) holding at least `PART_POSTINGS` postings, the last part
fewer. The first part opens with the heading; the last closes with the
totals per account, which one GROUP BY over the statement's postings gives
(so no part needs to know the rows of another) and the verification box.
Page numbers run on from part to part: each part starts its page counter
where the one before stopped (`@page:first { counter-reset: page N }`).
"page N of M" is printed only on a statement of one part, since M is not
known until the last part is laid out.

`statement_pdf_parts` yields the parts one by one (the background job in
`ledger.statement_jobs` stores each as it goes, so a worker that dies
resumes at the part it was on) and `pdf_join` writes them out as one PDF,
streaming: one part in memory at a time. Measured joining 2,500 parts of
400 postings (27,500 pages, 97 MB): 112 MB peak and 16 s, where pypdf's
PdfWriter, which holds the whole document, took 707 MB and 28 s.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    NullObject,
    StreamObject,
    create_string_object,
)

from bondplatform.money import display_pounds
from ledger.canonical import format_date, format_timestamp
from ledger.models import EntryKind, LedgerPosting

__all__ = [
    "PART_POSTINGS",
    "RenderedPart",
    "pdf_join",
    "statement_part_bounds",
    "statement_part_render",
    "statement_pdf_parts",
]

# Postings per part: where WeasyPrint's cost per row is still flat (see above),
# and large enough that the per-part overhead (parsing the template's CSS,
# the first page) stays a few per cent.
PART_POSTINGS = 400

# The Statement of `ledger.statements` (typed loosely: that module imports this one).
StatementLike = Any


@dataclass(frozen=True)
class RenderedPart:
    index: int
    first_sequence: int
    last_sequence: int
    postings: int
    pages: int
    pdf: bytes


def _shown(amount_pence: int, currency: str) -> str:
    """Money for people: '£1,234.56' in pounds, '1,234.56 EUR' in any other currency; blank for 0."""
    if not amount_pence:
        return ""
    if currency == "GBP":
        return display_pounds(amount_pence)
    return f"{display_pounds(amount_pence).replace('£', '')} {currency}"


def statement_part_bounds(
    statement: StatementLike, low: int, postings: int = PART_POSTINGS
) -> tuple[int, int]:
    """(last sequence, postings) of the part that starts at entry `low`: whole entries, from
    `low` on, until they hold at least `postings` postings or the statement ends."""
    counts = (
        LedgerPosting.objects.filter(
            entry__issuer_id=statement.issuer_id,
            entry__sequence__gte=low,
            entry__sequence__lte=statement.to_sequence,
        )
        .values_list("entry__sequence")
        .annotate(n=Count("id"))
        .order_by("entry__sequence")
    )
    total, last = 0, low - 1
    # Every entry has at least two postings, so `postings` entries are always enough.
    for sequence, n in counts[:postings]:
        total += n
        last = sequence
        if total >= postings:
            break
    return max(last, low), total


def _rows(statement: StatementLike, low: int, high: int) -> list[dict[str, Any]]:
    labels = dict(EntryKind.choices)
    rows = []
    for entry in statement.entries_between(low, high):
        recorded = entry.recorded_at[:10]
        for index, posting in enumerate(entry.postings):
            rows.append(
                {
                    "first": index == 0,
                    "sequence": entry.sequence,
                    "value_date": entry.value_date,
                    "recorded_on_another_day": recorded if recorded != entry.value_date else "",
                    "kind": labels.get(entry.kind, entry.kind),
                    "description": entry.description,
                    "reverses": entry.reverses,
                    "account": posting.account,
                    "debit": _shown(posting.debit_pence, posting.currency),
                    "credit": _shown(posting.credit_pence, posting.currency),
                }
            )
    return rows


def _totals(statement: StatementLike) -> dict[str, Any]:
    """The totals per account and per currency over the statement: one GROUP BY in the database."""
    movements = (
        LedgerPosting.objects.filter(
            entry__issuer_id=statement.issuer_id,
            entry__sequence__range=(statement.from_sequence, statement.to_sequence),
        )
        .values_list("account__code", "currency")
        .annotate(
            debits=Sum("amount_pence", filter=Q(amount_pence__gt=0), default=0),
            credits=Sum("amount_pence", filter=Q(amount_pence__lt=0), default=0),
        )
        .order_by("account__code", "currency")
    )
    accounts: list[dict[str, str]] = []
    per_currency: dict[str, list[int]] = {}
    for account, currency, debits, credits in movements:
        credits = -credits
        accounts.append(
            {
                "account": account,
                "currency": currency,
                "debit": _shown(debits, currency),
                "credit": _shown(credits, currency),
            }
        )
        sums = per_currency.setdefault(currency, [0, 0])
        sums[0] += debits
        sums[1] += credits
    return {
        "accounts": accounts,
        "totals": [
            {"currency": currency, "debit": _shown(d, currency), "credit": _shown(c, currency)}
            for currency, (d, c) in sorted(per_currency.items())
        ],
    }


def _html(statement: StatementLike, rows: list, *, first: bool, last: bool, first_page: int) -> str:
    checkpoint = statement.checkpoint
    context = {
        "statement": statement,
        "part": {"first": first, "last": last, "single": first and last, "first_page": first_page},
        "date_from": format_date(statement.date_from) if statement.date_from else "the ledger's start",
        "date_to": format_date(statement.date_to),
        "generated_at": format_timestamp(statement.generated_at),
        "rows": rows,
        "checkpoint_signed_at": format_timestamp(checkpoint.signed_at) if checkpoint else "",
        **(_totals(statement) if last else {}),
    }
    return render_to_string("ledger/statement.html", context)


def statement_part_render(
    statement: StatementLike, *, index: int, low: int, first_page: int, postings: int = PART_POSTINGS
) -> RenderedPart:
    """Lay out the part that starts at entry `low`, its pages numbered from `first_page`."""
    from weasyprint import HTML  # noqa: PLC0415 - lazy for start-up: it takes a second to load, only PDFs need it

    empty = statement.to_sequence < statement.from_sequence
    if empty:
        high, count = low - 1, 0
    else:
        high, count = statement_part_bounds(statement, low, postings)
    html = _html(
        statement,
        [] if empty else _rows(statement, low, high),
        first=low == statement.from_sequence,
        last=high >= statement.to_sequence,
        first_page=first_page,
    )
    document = HTML(string=html).render()
    return RenderedPart(
        index=index,
        first_sequence=low,
        last_sequence=high,
        postings=count,
        pages=len(document.pages),
        pdf=document.write_pdf(),
    )


def statement_pdf_parts(
    statement: StatementLike,
    *,
    postings: int | None = None,
    index: int = 0,
    low: int | None = None,
    first_page: int = 1,
) -> Iterator[RenderedPart]:
    """The statement's parts in order, laid out one at a time. A resumed job passes where the
    next part starts: its index, its first entry and its first page."""
    postings = postings or PART_POSTINGS
    low = statement.from_sequence if low is None else low
    while True:
        part = statement_part_render(
            statement, index=index, low=low, first_page=first_page, postings=postings
        )
        yield part
        if part.last_sequence >= statement.to_sequence:
            return
        index, low, first_page = index + 1, part.last_sequence + 1, first_page + part.pages


class _StreamingJoin:
    """One PDF written out part by part: each part's pages, and the objects they use, are copied
    into `out` as they are read (renumbered, streams still compressed), so only one part is ever
    in memory, and what is kept between parts is one number per page and one offset per object.
    The catalog, the page tree and the cross-reference table are written at the end."""

    CATALOG, PAGES = 1, 2

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.next_number = 3
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _begin(self, number: int) -> None:
        self.offsets[number] = self.out.tell()
        self.out.write(f"{number} 0 obj\n".encode("ascii"))

    def _end(self) -> None:
        self.out.write(b"\nendobj\n")

    def add(self, pdf: bytes) -> None:
        reader = PdfReader(io.BytesIO(pdf))
        # The part's own catalog and page tree stay behind (its pages point to ours instead).
        skipped = {
            (reference.idnum, reference.generation)
            for reference in (reader.trailer.raw_get("/Root"), reader.root_object.raw_get("/Pages"))
            if isinstance(reference, IndirectObject)
        }
        numbers: dict[tuple[int, int], int] = {}
        pending: list[tuple[int, IndirectObject]] = []

        def number_of(reference: IndirectObject) -> int:
            key = (reference.idnum, reference.generation)
            if key not in numbers:
                numbers[key] = self.next_number
                self.next_number += 1
                pending.append((numbers[key], reference))
            return numbers[key]

        def copy(value: Any, *, page: bool = False) -> Any:
            if isinstance(value, IndirectObject):
                if (value.idnum, value.generation) in skipped:
                    return NullObject()
                return IndirectObject(number_of(value), 0, None)
            if isinstance(value, StreamObject):
                stream = copy_stream(value)
                return stream
            if isinstance(value, DictionaryObject):
                result = DictionaryObject()
                for key, item in value.items():
                    if page and key == "/Parent":
                        result[NameObject("/Parent")] = IndirectObject(self.PAGES, 0, None)
                    else:
                        result[NameObject(key)] = copy(item)
                return result
            if isinstance(value, ArrayObject):
                return ArrayObject(copy(item) for item in value)
            return value

        def copy_stream(value: StreamObject) -> StreamObject:
            stream = (
                EncodedStreamObject() if isinstance(value, EncodedStreamObject) else DecodedStreamObject()
            )
            for key, item in value.items():
                if key != "/Length":
                    stream[NameObject(key)] = copy(item)
            stream._data = value._data  # the bytes as stored: still compressed
            return stream

        for page in reader.pages:
            reference = page.indirect_reference
            assert reference is not None
            self.pages.append(number_of(reference))
        while pending:
            number, reference = pending.pop()
            value = reference.get_object()
            is_page = isinstance(value, DictionaryObject) and value.get("/Type") == "/Page"
            self._begin(number)
            copy(value, page=is_page).write_to_stream(self.out)
            self._end()

    def finish(self, *, title: str) -> int:
        kids = " ".join(f"{n} 0 R" for n in self.pages)
        self._begin(self.PAGES)
        self.out.write(f"<< /Type /Pages /Count {len(self.pages)} /Kids [{kids}] >>".encode("ascii"))
        self._end()
        self._begin(self.CATALOG)
        self.out.write(f"<< /Type /Catalog /Pages {self.PAGES} 0 R >>".encode("ascii"))
        self._end()
        info = self.next_number
        self._begin(info)
        self.out.write(b"<< /Title ")
        create_string_object(title).write_to_stream(self.out)
        self.out.write(b" /Author (Mutual Bonds) /Producer (Mutual Bonds: WeasyPrint, parts joined) >>")
        self._end()
        xref = self.out.tell()
        size = info + 1
        lines = [f"xref\n0 {size}\n", "0000000000 65535 f \n"]
        lines += [
            f"{self.offsets[n]:010d} 00000 n \n" if n in self.offsets else "0000000000 65535 f \n"
            for n in range(1, size)
        ]
        self.out.write("".join(lines).encode("ascii"))
        self.out.write(
            f"trailer\n<< /Size {size} /Root {self.CATALOG} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode(
                "ascii"
            )
        )
        return len(self.pages)


def pdf_join(parts: Iterable[bytes], out: IO[bytes], *, title: str) -> int:
    """Write the PDFs `parts` out as one PDF, in order, streaming; the number of pages.

    Memory is that of one part (see `_StreamingJoin`), whatever the number of parts."""
    join = _StreamingJoin(out)
    for pdf in parts:
        join.add(pdf)
    return join.finish(title=title)
