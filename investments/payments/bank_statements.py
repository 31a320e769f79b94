"""Bank statement import: match money in to subscriptions by their reference, never by guessing.

The file is CSV (comma-separated, UTF-8 or Windows-1252, a header row) with
the columns `date`, `amount`, `reference` and optionally `description`, in
any order and any case; other columns are ignored.
- `date`: `YYYY-MM-DD` or the UK's `DD/MM/YYYY`.
- `amount`: pounds, at most two decimals, an optional `£` and thousands
  commas (`1,250.00`). Money in is positive; money out (negative) is skipped.
- `reference`: what the payer wrote. A line matches when the reference, or
  one word of it, is exactly the reference of one of this issuer's
  subscriptions (case and the bank's spacing inside a bare reference do
  not matter). No reference, someone else's reference, two different ones:
  the line is listed as unmatched, and nothing is recorded for it.

Each matched line is recorded with `receipt_record` (which handles short
payments, overpayments and payments to ended subscriptions) under the key
`statement:<issuer>:<sha256(normalised line | occurrence)>`, where the
occurrence counts identical lines within the file. Uploading the same
statement again, or an overlapping one, records nothing twice; two identical
payments on one day stay two payments.

The report holds values (pence, dates, statuses); the API and the officer's
page format them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, ServiceError
from bondplatform.money import InvalidAmount, format_pence, parse_amount
from investments.models import Receipt, Refund, Subscription, SubscriptionStatus
from investments.payments.receipts import receipt_record
from issuers import gates
from issuers.selectors import issuer_get

MAX_LINES = 10_000
REQUIRED_COLUMNS = ("date", "amount", "reference")
_REFERENCE = re.compile(r"^MB[23456789A-Z]{8}$")
_WORD = re.compile(r"[A-Z0-9]+")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class MatchedLine:
    """A line recorded against a subscription (now, or by an earlier upload)."""

    number: int
    subscription_id: int
    issue_id: int
    reference: str
    date: dt.date
    amount_pence: int
    # The subscription after this line: its status and all it has received.
    status: SubscriptionStatus
    received_pence: int
    # What of this line is owed back (an overpayment, or money for an ended subscription).
    refund_owed_pence: int | None
    already_recorded: bool


@dataclass(frozen=True)
class UnmatchedLine:
    """Money in that matches no subscription: nothing was recorded for it."""

    number: int
    date: dt.date
    amount_pence: int
    reference: str
    description: str
    reason: str


@dataclass(frozen=True)
class SkippedLine:
    number: int
    reason: str


@dataclass(frozen=True)
class LineError:
    """A line that could not be read, or whose receipt a rule refused."""

    number: int
    code: str
    detail: str


@dataclass(frozen=True)
class StatementTotals:
    lines: int
    matched: int
    recorded: int
    unmatched: int
    skipped: int
    errors: int
    matched_pence: int
    recorded_pence: int
    unmatched_pence: int


@dataclass
class StatementReport:
    issuer_id: int
    lines: int = 0
    matched: list[MatchedLine] = field(default_factory=list)
    unmatched: list[UnmatchedLine] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    matched_pence: int = 0
    recorded_pence: int = 0
    unmatched_pence: int = 0

    @property
    def recorded_count(self) -> int:
        return sum(1 for line in self.matched if not line.already_recorded)

    def totals(self) -> StatementTotals:
        return StatementTotals(
            lines=self.lines,
            matched=len(self.matched),
            recorded=self.recorded_count,
            unmatched=len(self.unmatched),
            skipped=len(self.skipped),
            errors=len(self.errors),
            matched_pence=self.matched_pence,
            recorded_pence=self.recorded_pence,
            unmatched_pence=self.unmatched_pence,
        )


def _audit_data(totals: StatementTotals) -> dict[str, Any]:
    """The audit row keeps the shape it has always had (amounts as "250.00")."""
    return {
        "lines": totals.lines,
        "matched": totals.matched,
        "recorded": totals.recorded,
        "unmatched": totals.unmatched,
        "skipped": totals.skipped,
        "errors": totals.errors,
        "matched_amount": format_pence(totals.matched_pence),
        "recorded_amount": format_pence(totals.recorded_pence),
        "unmatched_amount": format_pence(totals.unmatched_pence),
    }


@dataclass(frozen=True)
class _Line:
    number: int
    date: dt.date
    amount_pence: int
    reference: str
    description: str

    def normalised(self) -> str:
        return f"{self.date.isoformat()}|{self.amount_pence}|{' '.join(self.reference.upper().split())}"


def bank_statement_import(*, actor: Actor, issuer_id: int, content: bytes) -> StatementReport:
    """Record the money in a bank statement against this issuer's subscriptions; list what did not match."""
    issuer = issuer_get(issuer_id)
    gates.require_officer(actor, issuer)
    rows = _rows(_decode(content))
    report = StatementReport(issuer_id=issuer.pk)
    lines: list[_Line] = []
    for number, row in rows:
        report.lines += 1
        try:
            line = _parse(number, row)
        except ValueError as problem:
            report.errors.append(LineError(number=number, code="malformed_line", detail=str(problem)))
            continue
        if line.amount_pence < 0:
            report.skipped.append(
                SkippedLine(number=number, reason="Money out, not a payment to the issuer.")
            )
            continue
        lines.append(line)

    references = _references_of(issuer_id=issuer.pk, lines=lines)
    seen: Counter[str] = Counter()
    for line in lines:
        occurrence = seen[line.normalised()]
        seen[line.normalised()] += 1
        subscription, reason = _match(line, references)
        if subscription is None:
            report.unmatched_pence += line.amount_pence
            report.unmatched.append(
                UnmatchedLine(
                    number=line.number,
                    date=line.date,
                    amount_pence=line.amount_pence,
                    reference=line.reference,
                    description=line.description,
                    reason=reason,
                )
            )
            continue
        _record(
            actor=actor,
            issuer_id=issuer.pk,
            line=line,
            occurrence=occurrence,
            subscription=subscription,
            report=report,
        )

    with transaction.atomic():
        audit_record(
            actor=actor,
            issuer=issuer,
            action="bank_statement.import",
            obj=issuer,
            data=_audit_data(report.totals()),
        )
    return report


def statement_line_key(*, issuer_id: int, normalised: str, occurrence: int) -> str:
    digest = hashlib.sha256(f"{normalised}|{occurrence}".encode()).hexdigest()
    return f"statement:{issuer_id}:{digest}"


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # UK banks often export Windows-1252 (a £ is byte A3).
        return content.decode("cp1252", errors="replace")


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for each non-blank line after the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput("The statement is empty.", code="invalid_statement") from None
    except csv.Error as exc:
        raise BadInput(f"The statement is not readable CSV: {exc}.", code="invalid_statement") from None
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise BadInput(
            f"The statement needs a header row with the columns {', '.join(REQUIRED_COLUMNS)} "
            f"(and optionally description); missing: {', '.join(missing)}.",
            code="invalid_statement",
        )
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BadInput(
                f"The statement is not readable CSV at line {reader.line_num}: {exc}.",
                code="invalid_statement",
            ) from None
        if not any(value.strip() for value in values):
            continue  # blank line
        if len(rows) >= MAX_LINES:
            raise BadInput(f"At most {MAX_LINES} lines per statement: split it.", code="invalid_statement")
        rows.append((reader.line_num, dict(zip(names, values, strict=False))))
    return rows


def _parse(number: int, row: dict[str, str]) -> _Line:
    if any(row.get(name) is None for name in REQUIRED_COLUMNS):
        raise ValueError(f"Only {len(row)} fields: a line needs date, amount and reference.")
    reference = row["reference"].strip()
    if "\x00" in "".join(row.values()):
        raise ValueError("The line contains a NUL character.")
    return _Line(
        number=number,
        date=_parse_date(row["date"].strip()),
        amount_pence=_parse_signed_amount(row["amount"].strip()),
        reference=reference[:100],
        description=(row.get("description") or "").strip()[:200],
    )


def _parse_date(text: str) -> dt.date:
    try:
        if match := _UK_DATE.match(text):
            day, month, year = (int(part) for part in match.groups())
            return dt.date(year, month, day)
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass  # 31/02/2026 and the like
    raise ValueError(f"The date {text[:20]!r} is not YYYY-MM-DD or DD/MM/YYYY.")


def _parse_signed_amount(text: str) -> int:
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:].strip()
    text = text.removeprefix("£").strip()
    if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?", text):
        text = text.replace(",", "")
    try:
        pence = parse_amount(text)
    except InvalidAmount:
        raise ValueError(f"The amount {text[:20]!r} is not pounds with at most two decimals.") from None
    if pence == 0:
        raise ValueError("The amount is zero.")
    return sign * pence


def _candidates(reference: str) -> set[str]:
    upper = reference.upper()
    words = {word for word in _WORD.findall(upper) if _REFERENCE.match(word)}
    bare = re.sub(r"[\s-]", "", upper)
    if _REFERENCE.match(bare):
        words.add(bare)
    return words


def _references_of(*, issuer_id: int, lines: list[_Line]) -> dict[str, Subscription]:
    wanted = set().union(*(_candidates(line.reference) for line in lines)) if lines else set()
    found = Subscription.objects.filter(reference__in=wanted, issue__issuer_id=issuer_id).only(
        "pk", "reference", "issue_id"
    )
    return {subscription.reference: subscription for subscription in found}


def _match(line: _Line, references: dict[str, Subscription]) -> tuple[Subscription | None, str]:
    candidates = _candidates(line.reference)
    if not candidates:
        return None, "No subscription reference in the line."
    ours = sorted(candidate for candidate in candidates if candidate in references)
    if not ours:
        return None, "No subscription of this issuer has this reference."
    if len(ours) > 1:
        return None, f"More than one reference in the line ({', '.join(ours)}): record it by hand."
    return references[ours[0]], ""


def _record(
    *,
    actor: Actor,
    issuer_id: int,
    line: _Line,
    occurrence: int,
    subscription: Subscription,
    report: StatementReport,
) -> None:
    key = statement_line_key(issuer_id=issuer_id, normalised=line.normalised(), occurrence=occurrence)
    already = Receipt.objects.filter(idempotency_key=key).exists()
    try:
        receipt_record(
            actor=actor,
            subscription_id=subscription.pk,
            amount_pence=line.amount_pence,
            reference=subscription.reference,
            received_on=line.date,
            idempotency_key=key,
        )
    except ServiceError as refusal:
        report.errors.append(LineError(number=line.number, code=refusal.code, detail=refusal.detail))
        return
    fresh = Subscription.objects.only("status", "received_pence").get(pk=subscription.pk)
    excess = Refund.objects.filter(idempotency_key=f"receipt-excess:{key}").values_list(
        "amount_pence", flat=True
    )
    report.matched_pence += line.amount_pence
    if not already:
        report.recorded_pence += line.amount_pence
    report.matched.append(
        MatchedLine(
            number=line.number,
            subscription_id=subscription.pk,
            issue_id=subscription.issue_id,
            reference=subscription.reference,
            date=line.date,
            amount_pence=line.amount_pence,
            status=SubscriptionStatus(fresh.status),
            received_pence=fresh.received_pence,
            refund_owed_pence=excess[0] if excess else None,
            already_recorded=already,
        )
    )
