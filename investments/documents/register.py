"""The register of bondholders as at a date, as CSV: for officers and auditors (it names people).

Who held what on `as_at`: the holdings allotted by then whose principal
outstanding at the end of that day was above zero, each with that amount.
The amount is read from the ledger, the credit balance of the holding's
`bond_principal:<h>` over the entries with a value date up to `as_at`:
allotment, reinvested interest, redemptions and maturity are all posted
there on the day they take effect, so the register of any past date is
the one the books gave that day. A future date is refused (a redemption
approved for a later day is already posted, but nobody holds on a day that
has not come).

Names and postcodes are today's (a register is for reaching holders).
Every cell goes through `bondplatform.spreadsheets` (formula injection).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.errors import BadInput
from bondplatform.money import format_pence
from bondplatform.query import CODE as INVALID_QUERY
from bondplatform.spreadsheets import csv_text
from investments import accounts
from investments.documents.certificates import holder_name
from investments.models import BondIssue, Holding
from investments.selectors import issue_get
from issuers import gates
from ledger.models import LedgerPosting

__all__ = ["REGISTER_COLUMNS", "RegisterRow", "register_as_at", "register_csv"]

REGISTER_COLUMNS = [
    "holding_id",
    "holder_name",
    "postcode",
    "allotted_on",
    "principal_outstanding",
    "currency",
    "as_at",
]


@dataclass(frozen=True)
class RegisterRow:
    holding_id: int
    holder_name: str
    postcode: str
    allotted_on: dt.date
    principal_outstanding_pence: int


def register_as_at(*, actor: Actor, issue_id: int, as_at: dt.date) -> tuple[BondIssue, list[RegisterRow]]:
    """The issue and its bondholders at the end of `as_at`, by holding id (404, then 401/403, then 400
    `invalid_query`: `as_at` is the API's query parameter, refused like a malformed one)."""
    issue = issue_get(issue_id)
    gates.require_register_reader(actor, issue.issuer_id)
    if as_at > timezone.localdate():
        raise BadInput(
            "The register is kept up to today: give a date that has come.",
            code=INVALID_QUERY,
            fields={"as_at": ["Must not be in the future."]},
        )
    holdings = list(
        Holding.objects.filter(issue=issue, allotted_on__lte=as_at)
        .select_related("holder__profile")
        .order_by("id")
    )
    codes = {accounts.principal_of(h.pk): h.pk for h in holdings}
    balances = dict(
        LedgerPosting.objects.filter(
            account__issuer_id=issue.issuer_id, account__code__in=list(codes), entry__value_date__lte=as_at
        )
        .values_list("account__code")
        .annotate(total=Sum("amount_pence"))
        .order_by()
    )
    outstanding = {codes[code]: -total for code, total in balances.items()}
    rows = []
    for holding in holdings:
        principal = outstanding.get(holding.pk, 0)
        if principal <= 0:
            continue
        profile = getattr(holding.holder, "profile", None)
        rows.append(
            RegisterRow(
                holding_id=holding.pk,
                holder_name=holder_name(holding.holder),
                postcode=profile.postcode if profile is not None else "",
                allotted_on=holding.allotted_on,
                principal_outstanding_pence=principal,
            )
        )
    return issue, rows


def register_csv(issue: BondIssue, rows: list[RegisterRow], *, as_at: dt.date) -> str:
    return csv_text(
        REGISTER_COLUMNS,
        (
            (
                row.holding_id,
                row.holder_name,
                row.postcode,
                row.allotted_on.isoformat(),
                format_pence(row.principal_outstanding_pence),
                issue.currency,
                as_at.isoformat(),
            )
            for row in rows
        ),
    )
