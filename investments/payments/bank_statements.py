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

Each matched line has the key `statement:<issuer>:<sha256(normalised line |
occurrence)>`, where the occurrence counts identical lines within the file.
Uploading the same statement again, or an overlapping one, records nothing
twice; two identical payments on one day stay two payments.

A line an officer already recorded by hand. Every bank-transfer receipt not
recorded from a statement (the record-payment API's `manual:` keys, the
officer page's `web:` keys) is money an officer saw in the issuer's bank
account, so it is one line of some statement. A matched line therefore first
looks, under its subscription's lock (`receipt_record`'s `recorded_before`),
for such a hand-recorded receipt that no line has claimed yet, of the same
subscription and the same amount, received within `CLAIM_WINDOW` (seven days)
either side of the line's date, the nearest date first (then the first
recorded). If there is one, the line claims it (a `StatementLineClaim` row,
append-only, unique by the line's key and by the receipt) and records
nothing: the money is in the books once. Otherwise the line is recorded with
`receipt_record` (which handles short payments, overpayments and payments to
ended subscriptions) under its key. Why seven days: a statement is dated by
the bank's posting, while the officer types the day the money showed in
online banking, or the day they caught up with it; weekends and bank
holidays put up to four days between a Thursday evening's payment and its
posting (Easter), and a week either side leaves room for an officer who
records on Friday what came in on Monday. Wider would let a line take the
hand-recorded receipt of another payment of the same amount. Nearest first
keeps the books exact whenever each hand-recorded date is within two days of
its line's: a line that takes another line's receipt takes one no farther
than its own, which the other line then finds within six days (a hypothesis
property in the tests holds this for any order of hand records and uploads).

Why it stays sound:
- a line's key is claimed or recorded once, never both: both are decided
  under the subscription's lock, after looking for the other;
- a receipt is claimed by one line only (`receipt` is unique), and only a
  hand-recorded one: a receipt recorded from a statement is never claimed;
- two identical lines are two keys: with one hand-recorded receipt, the
  first claims it and the second is recorded (an overpayment is owed back as
  ever);
- the claim is a row, not a change to the receipt, so uploading again finds
  it by the line's key and reports the line as already recorded by hand.
A hand-recorded receipt of another amount (a typo), or too far from the
line's date, is not claimed: the line is recorded, and the report lists with
every line recorded from the statement the hand-recorded receipts of its
subscription that no line has claimed, so that the officer looks. The same
list shows the other way round of the mistake, which this module cannot
undo: money recorded by hand after its line was already imported.

The report holds values (pence, dates, statuses); the API and the officer's
page format them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from bondplatform.actors import Actor, person_or_none
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, ServiceError
from bondplatform.money import InvalidAmount, format_pence, parse_amount
from investments.models import (
    Receipt,
    Refund,
    StatementLineClaim,
    Subscription,
    SubscriptionStatus,
)
from investments.payments.bank_transfer import BankTransferProvider
from investments.payments.receipts import receipt_record
from issuers import gates
from issuers.models import Issuer
from issuers.selectors import issuer_get

MAX_LINES = 10_000
REQUIRED_COLUMNS = ("date", "amount", "reference")
_REFERENCE = re.compile(r"^MB[23456789A-Z]{8}$")
_WORD = re.compile(r"[A-Z0-9]+")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATEMENT_KEY_PREFIX = "statement:"
# How far a hand-recorded receipt's date may be from the line's (either side) for the line to claim it.
CLAIM_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class HandRecorded:
    """A receipt an officer recorded by hand (not from a statement)."""

    receipt_id: int
    amount_pence: int
    received_on: dt.date


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
    # The hand-recorded receipt this line is (claimed now, or by an earlier upload): nothing new recorded.
    hand_recorded: HandRecorded | None = None
    # For a line recorded from the statement: its subscription's hand-recorded receipts that no
    # line has claimed (another amount, or another week). One may be this line mistyped: look.
    unclaimed_hand_recorded: tuple[HandRecorded, ...] = ()


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

    @property
    def hand_recorded_count(self) -> int:
        """Lines that are receipts an officer recorded by hand (claimed now or before)."""
        return sum(1 for line in self.matched if line.hand_recorded is not None)

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
            issuer=issuer,
            line=line,
            occurrence=occurrence,
            subscription=subscription,
            report=report,
        )
    _note_unclaimed_hand_recorded(report)

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
    return f"{STATEMENT_KEY_PREFIX}{issuer_id}:{digest}"


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
        if match := _UK_DATE.fullmatch(text):
            day, month, year = (int(part) for part in match.groups())
            return dt.date(year, month, day)
        if _ISO_DATE.fullmatch(text):
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
    words = {word for word in _WORD.findall(upper) if _REFERENCE.fullmatch(word)}
    bare = re.sub(r"[\s-]", "", upper)
    if _REFERENCE.fullmatch(bare):
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


def hand_recorded_receipts() -> QuerySet[Receipt]:
    """Receipts an officer recorded by hand: bank transfers not recorded from a statement."""
    return Receipt.objects.filter(provider=BankTransferProvider.name).exclude(
        idempotency_key__startswith=STATEMENT_KEY_PREFIX
    )


def _claim(
    subscription: Subscription, *, actor: Actor, issuer: Issuer, key: str, line: _Line
) -> Receipt | None:
    """The hand-recorded receipt this line is, claimed by its key (now, or by an earlier upload); None
    if there is none. Called by `receipt_record` under the subscription's lock."""
    earlier = StatementLineClaim.objects.filter(key=key).select_related("receipt").first()
    if earlier is not None:
        return earlier.receipt
    candidates = hand_recorded_receipts().filter(
        subscription_id=subscription.pk,
        amount_pence=line.amount_pence,
        statement_claim__isnull=True,
        received_on__gte=line.date - CLAIM_WINDOW,
        received_on__lte=line.date + CLAIM_WINDOW,
    )
    receipt = min(
        candidates,
        key=lambda receipt: (abs((receipt.received_on - line.date).days), receipt.pk),
        default=None,
    )
    if receipt is None:
        return None
    claim = StatementLineClaim.objects.create(
        key=key, receipt=receipt, line_date=line.date, claimed_by=person_or_none(actor)
    )
    audit_record(
        actor=actor,
        issuer=issuer,
        action="bank_statement.claim",
        obj=claim,
        data={
            "subscription": subscription.pk,
            "receipt": receipt.pk,
            "amount_pence": line.amount_pence,
            "line_date": line.date.isoformat(),
            "received_on": receipt.received_on.isoformat(),
        },
    )
    return receipt


def _record(
    *,
    actor: Actor,
    issuer: Issuer,
    line: _Line,
    occurrence: int,
    subscription: Subscription,
    report: StatementReport,
) -> None:
    key = statement_line_key(issuer_id=issuer.pk, normalised=line.normalised(), occurrence=occurrence)
    already = (
        Receipt.objects.filter(idempotency_key=key).exists()
        or StatementLineClaim.objects.filter(key=key).exists()
    )
    try:
        receipt = receipt_record(
            actor=actor,
            subscription_id=subscription.pk,
            amount_pence=line.amount_pence,
            reference=subscription.reference,
            received_on=line.date,
            idempotency_key=key,
            recorded_before=lambda locked: _claim(locked, actor=actor, issuer=issuer, key=key, line=line),
        )
    except ServiceError as refusal:
        report.errors.append(LineError(number=line.number, code=refusal.code, detail=refusal.detail))
        return
    by_hand = receipt.idempotency_key != key
    fresh = Subscription.objects.only("status", "received_pence").get(pk=subscription.pk)
    excess = Refund.objects.filter(idempotency_key=f"receipt-excess:{receipt.idempotency_key}").values_list(
        "amount_pence", flat=True
    )
    report.matched_pence += line.amount_pence
    if not already and not by_hand:
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
            already_recorded=already or by_hand,
            hand_recorded=_hand_recorded(receipt) if by_hand else None,
        )
    )


def _hand_recorded(receipt: Receipt) -> HandRecorded:
    return HandRecorded(
        receipt_id=receipt.pk, amount_pence=receipt.amount_pence, received_on=receipt.received_on
    )


def _note_unclaimed_hand_recorded(report: StatementReport) -> None:
    """Add to each line recorded from the statement its subscription's unclaimed hand-recorded
    receipts, as they stand after the whole file (a later line may have claimed one)."""
    recorded = {line.subscription_id for line in report.matched if line.hand_recorded is None}
    if not recorded:
        return
    unclaimed: dict[int, list[HandRecorded]] = defaultdict(list)
    for receipt in (
        hand_recorded_receipts()
        .filter(subscription_id__in=recorded, statement_claim__isnull=True)
        .order_by("received_on", "pk")
    ):
        unclaimed[receipt.subscription_id].append(_hand_recorded(receipt))
    report.matched = [
        dataclasses.replace(line, unclaimed_hand_recorded=tuple(unclaimed[line.subscription_id]))
        if line.hand_recorded is None and unclaimed[line.subscription_id]
        else line
        for line in report.matched
    ]
