"""A resident's annual statement for a UK tax year, and the certificate of interest and tax deducted.

The tax year: `year=2026` is 6 April 2026 to 5 April 2027, both included
(the year UK income tax counts interest in). Lines are cut by the ledger
entries' value dates: interest counts in the year it was credited (the
coupon date, or a redemption date), principal on the day it moved.

Every figure is read from the ledger, from the postings of the holding's
own accounts (`investments.accounts`), one line per entry, with its
sequence; nothing comes from the running totals on `Holding`. For each
holding: opening principal (the credit balance of `bond_principal:<h>`
before the year) + subscriptions + interest reinvested - principal redeemed
(+ any other change, a reversal say) = closing principal, and the closing
figure is the ledger's balance at the year's end. Interest lines carry the
gross (the entry's debit to `interest_expense`), the tax withheld (its
credit to `tax_payable`) and the net credited to the holder; each entry of
these kinds concerns one holding (one per holding per run, per redemption),
so these issuer-wide accounts within it are the holding's.

Per line, the JSON twin carries the whole entry (every field its hash
covers, `ledger.canonical`) and an inclusion proof (RFC 9162 §2.1.3) of
the entry in the issuer's Merkle tree at its latest signed checkpoint, from
`ledger.proofs`: see `line_inclusion_proof`, the one place that makes them.
The checkpoint is the latest that signs a tree head (format 2: `tree_size`
and `merkle_root`); the statement carries it with its signed message.
An entry newer than that checkpoint has `inclusion_proof: null` until the
next checkpoint (daily) covers it. The entries of one holding name only
issuer-wide accounts and that holding's: a proof reveals hashes, and the
statement no one else's data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.errors import BadInput
from bondplatform.pdf import pdf_from_html
from investments import accounts
from investments.documents.certificates import holder_name
from investments.models import Holding
from issuers import gates
from issuers.models import Issuer
from ledger.canonical import format_timestamp
from ledger.models import EntryKind, LedgerCheckpoint, LedgerEntry, LedgerPosting
from ledger.proofs import IssuerTree
from ledger.signing import checkpoint_message

__all__ = [
    "FIRST_TAX_YEAR",
    "AnnualStatement",
    "HoldingYear",
    "StatementLine",
    "annual_statement_for",
    "annual_statement_pdf",
    "line_inclusion_proof",
    "tax_year_bounds",
    "tax_year_of",
    "tax_year_parse",
]

# The first tax year a statement may be asked for (community bonds on this service began later).
FIRST_TAX_YEAR = 2000

_INTEREST_KINDS = (EntryKind.INTEREST_PAYMENT, EntryKind.INTEREST_REINVESTMENT)


def tax_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """(6 April `year`, 5 April `year` + 1), both included."""
    return dt.date(year, 4, 6), dt.date(year + 1, 4, 5)


def tax_year_of(day: dt.date) -> int:
    return day.year if day >= dt.date(day.year, 4, 6) else day.year - 1


def tax_year_parse(value: object, *, today: dt.date | None = None) -> int:
    """The `year` of a request: a tax year that has begun, from FIRST_TAX_YEAR; 400 `invalid_tax_year`."""
    current = tax_year_of(today or timezone.localdate())
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise BadInput(
            "Give the tax year as its first calendar year: year=2025 is 6 April 2025 to 5 April 2026.",
            code="invalid_tax_year",
            fields={"year": ["A year such as 2025."]},
        )
    year = int(text)
    if not FIRST_TAX_YEAR <= year <= current:
        raise BadInput(
            f"The tax year must lie between {FIRST_TAX_YEAR} and {current} (the current one).",
            code="invalid_tax_year",
            fields={"year": [f"From {FIRST_TAX_YEAR} to {current}."]},
        )
    return year


@dataclass
class StatementLine:
    """One ledger entry as it touches one holding; amounts in pence, each zero where it does not apply."""

    entry: LedgerEntry
    postings: list[tuple[str, str, int]]  # (account, currency, signed pence), in position order
    principal_change_pence: int = 0  # signed: + subscriptions and reinvestment, - redemptions
    subscription_pence: int = 0
    interest_gross_pence: int = 0
    tax_withheld_pence: int = 0
    interest_net_pence: int = 0
    interest_reinvested_pence: int = 0
    interest_waived_pence: int = 0
    redemption_pence: int = 0
    paid_out_pence: int = 0  # sent to the holder's bank account
    inclusion_proof: dict[str, Any] | None = None

    @property
    def sequence(self) -> int:
        return self.entry.sequence


@dataclass
class HoldingYear:
    holding: Holding
    opening_principal_pence: int
    lines: list[StatementLine] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(line, f"{name}_pence") for line in self.lines)

    @property
    def closing_principal_pence(self) -> int:
        return self.opening_principal_pence + self.total("principal_change")

    @property
    def currency(self) -> str:
        return self.holding.issue.currency

    # For the template, which cannot pass arguments.
    @property
    def total_subscription(self) -> int:
        return self.total("subscription")

    @property
    def total_reinvested(self) -> int:
        return self.total("interest_reinvested")

    @property
    def total_redemption(self) -> int:
        return self.total("redemption")


@dataclass(frozen=True)
class InterestCertificateLine:
    """The certificate of interest and tax deducted: what one issuer credited in the year."""

    issuer: Issuer
    currency: str
    gross_pence: int
    tax_pence: int
    net_pence: int
    waived_pence: int


@dataclass
class AnnualStatement:
    year: int
    start: dt.date
    end: dt.date
    holder_name: str
    holder_postcode: str
    holdings: list[HoldingYear]
    certificate: list[InterestCertificateLine]
    checkpoints: dict[int, LedgerCheckpoint]  # issuer id -> the checkpoint the proofs are against
    generated_at: dt.datetime

    @property
    def line_count(self) -> int:
        return sum(len(h.lines) for h in self.holdings)


def _holding_codes(holding_id: int) -> dict[str, str]:
    return {
        "principal": accounts.principal_of(holding_id),
        "payable": accounts.interest_payable_of(holding_id),
        "redemption": accounts.redemption_payable_of(holding_id),
        "waived": accounts.interest_waived_of(holding_id),
    }


def _line(entry: LedgerEntry, postings: list[tuple[str, str, int]], codes: dict[str, str]) -> StatementLine:
    def moved(code: str) -> int:  # credits positive: what the account received
        return -sum(p for account, _, p in postings if account == code)

    line = StatementLine(entry=entry, postings=postings)
    line.principal_change_pence = moved(codes["principal"])
    line.interest_waived_pence = moved(codes["waived"])
    payable, redemption = moved(codes["payable"]), moved(codes["redemption"])
    if entry.kind == EntryKind.ALLOTMENT:
        line.subscription_pence = line.principal_change_pence
    elif entry.kind in _INTEREST_KINDS:
        line.interest_gross_pence = -moved(accounts.INTEREST_EXPENSE)
        line.tax_withheld_pence = moved(accounts.TAX_PAYABLE)
        if entry.kind == EntryKind.INTEREST_REINVESTMENT:
            line.interest_reinvested_pence = line.principal_change_pence
            line.interest_net_pence = line.principal_change_pence
        else:
            line.interest_net_pence = payable
    elif entry.kind == EntryKind.REDEMPTION:
        line.redemption_pence = -line.principal_change_pence
    elif entry.kind == EntryKind.PAYOUT:
        line.paid_out_pence = -(payable + redemption)
    return line


def annual_statement_for(*, actor: Actor, year: int, with_proofs: bool = True) -> AnnualStatement:
    """The signed-in resident's own statement for the tax year `year` (already validated)."""
    gates.require_signed_in(actor)
    gates.require_person(actor)
    start, end = tax_year_bounds(year)
    holdings = list(
        Holding.objects.filter(holder_id=actor.pk, allotted_on__lte=end)
        .select_related("issue__issuer")
        .order_by("allotted_on", "id")
    )
    codes = {h.pk: _holding_codes(h.pk) for h in holdings}
    owner = {code: h_id for h_id, by_name in codes.items() for code in by_name.values()}
    issuer_ids = sorted({h.issue.issuer_id for h in holdings})

    opening = dict(
        LedgerPosting.objects.filter(
            account__issuer_id__in=issuer_ids,
            account__code__in=[c["principal"] for c in codes.values()],
            entry__value_date__lt=start,
        )
        .values_list("account__code")
        .annotate(total=Sum("amount_pence"))
        .order_by()
    )
    touched = (
        LedgerPosting.objects.filter(
            account__issuer_id__in=issuer_ids,
            account__code__in=list(owner),
            entry__value_date__range=(start, end),
        )
        .values_list("entry_id", "account__code")
        .distinct()
    )
    holding_of_entry: dict[int, int] = {}
    for entry_id, code in touched:
        holding_of_entry.setdefault(entry_id, owner[code])
    entries = {
        e.pk: e for e in LedgerEntry.objects.filter(pk__in=list(holding_of_entry)).select_related("reverses")
    }
    legs: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for entry_id, code, currency, pence in (
        LedgerPosting.objects.filter(entry_id__in=list(entries))
        .order_by("entry_id", "position")
        .values_list("entry_id", "account__code", "currency", "amount_pence")
    ):
        legs[entry_id].append((code, currency, pence))

    years = {h.pk: HoldingYear(h, -(opening.get(codes[h.pk]["principal"]) or 0)) for h in holdings}
    for entry_id, holding_id in holding_of_entry.items():
        years[holding_id].lines.append(_line(entries[entry_id], legs[entry_id], codes[holding_id]))
    for holding_year in years.values():
        holding_year.lines.sort(key=lambda line: (line.entry.value_date, line.sequence))

    checkpoints = _checkpoints(issuer_ids)
    if with_proofs:
        trees: dict[int, IssuerTree] = {}
        for holding_year in years.values():
            issuer_id = holding_year.holding.issue.issuer_id
            tree = trees.setdefault(issuer_id, IssuerTree(issuer_id))
            for line in holding_year.lines:
                line.inclusion_proof = line_inclusion_proof(tree, line.sequence, checkpoints.get(issuer_id))

    shown = [y for y in years.values() if y.lines or y.opening_principal_pence]
    profile = getattr(actor, "profile", None)
    return AnnualStatement(
        year=year,
        start=start,
        end=end,
        holder_name=holder_name(actor),
        holder_postcode=profile.postcode if profile is not None else "",
        holdings=shown,
        certificate=_certificate(shown),
        checkpoints=checkpoints,
        generated_at=timezone.now(),
    )


def _checkpoints(issuer_ids: list[int]) -> dict[int, LedgerCheckpoint]:
    """Each issuer's latest checkpoint that signs a Merkle tree head (format 2), one query.
    An older checkpoint signs the chain head alone: no root to prove a line against."""
    latest: dict[int, LedgerCheckpoint] = {}
    signed_heads = LedgerCheckpoint.objects.filter(issuer_id__in=issuer_ids, merkle_root__isnull=False)
    for checkpoint in signed_heads.order_by("issuer_id", "-sequence", "-id"):
        latest.setdefault(checkpoint.issuer_id, checkpoint)
    return latest


def line_inclusion_proof(
    tree: IssuerTree, sequence: int, checkpoint: LedgerCheckpoint | None
) -> dict[str, Any] | None:
    """The inclusion proof of entry `sequence` in the issuer's tree at `checkpoint`, or None when the
    checkpoint does not cover it yet.

    The hook the Merkle work builds on: leaf `sequence - 1` of the tree of
    `checkpoint.sequence` entries (`ledger.proofs`: leaf hash
    SHA-256(0x00 || entry hash)); `audit_path` from the leaf up, hex. The
    checkpoint the proof is against is in the statement's `checkpoints`."""
    if checkpoint is None or checkpoint.tree_size is None or sequence > checkpoint.tree_size:
        return None
    path = tree.inclusion_proof(sequence, checkpoint.tree_size)
    return {
        "checkpoint_sequence": checkpoint.sequence,
        "tree_size": checkpoint.tree_size,
        "merkle_root": checkpoint.merkle_root,
        "leaf_index": sequence - 1,
        "audit_path": [node.hex() for node in path],
    }


def _certificate(holdings: list[HoldingYear]) -> list[InterestCertificateLine]:
    sums: dict[tuple[int, str], list[int]] = {}
    issuers: dict[int, Issuer] = {}
    for holding_year in holdings:
        issuer = holding_year.holding.issue.issuer
        issuers[issuer.pk] = issuer
        totals = sums.setdefault((issuer.pk, holding_year.currency), [0, 0, 0, 0])
        totals[0] += holding_year.total("interest_gross")
        totals[1] += holding_year.total("tax_withheld")
        totals[2] += holding_year.total("interest_net")
        totals[3] += holding_year.total("interest_waived")
    return [
        InterestCertificateLine(issuers[issuer_id], currency, *totals)
        for (issuer_id, currency), totals in sorted(sums.items())
        if any(totals)
    ]


def checkpoint_facts(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    """A checkpoint as the JSON statement carries it: what is signed, and the signature."""
    return {
        "issuer": checkpoint.issuer_id,
        "sequence": checkpoint.sequence,
        "hash": checkpoint.hash,
        "signed_at": format_timestamp(checkpoint.signed_at),
        "algorithm": checkpoint.algorithm,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "tree_size": checkpoint.tree_size,
        "merkle_root": checkpoint.merkle_root,
        "signed_message": checkpoint_message(checkpoint).decode("ascii"),
    }


def annual_statement_pdf(statement: AnnualStatement) -> bytes:
    labels = dict(EntryKind.choices)
    html = render_to_string(
        "investments/documents/annual_statement.html",
        {
            "s": statement,
            "labels": labels,
            "holdings": [
                {
                    "year": h,
                    "lines": [
                        {"line": line, "kind": labels.get(line.entry.kind, line.entry.kind)}
                        for line in h.lines
                    ],
                }
                for h in statement.holdings
            ],
            "checkpoints": sorted(statement.checkpoints.values(), key=lambda c: c.issuer_id),
        },
    )
    return pdf_from_html(html)
