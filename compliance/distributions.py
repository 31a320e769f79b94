"""Money paid out of an issuer to anyone but its bondholders: distributions, and the
financial years whose declared profits cap a CIC's dividends.

A distribution is judged by the asset lock (`compliance.asset_lock`) inside
the transaction that posts it, and posted at once (the officer records a
payment they are making now):

    consideration:                 Dr goods_and_services  Cr cash_at_bank
    anything else (a dividend, a
    transfer to an asset-locked
    body, other):                  Dr distributions       Cr cash_at_bank

A refusal (422 `asset_lock_violation`, naming the rule and its source)
leaves the ledger untouched; its deny decision is kept (`refusals_kept`).

Dividends count against the financial year that contains the day they are
paid (a year runs from the day after the same date a year before its
`year_end`, to its `year_end`): 35 % of the profits declared for it, less the
dividends already paid in it (CIC Regulations 2005 reg 19 and 20 as amended
2014). Two years of one issuer never overlap.

Lock order: the issuer row, then (in `entry_post`) its ledger head. The
issuer's lock serialises its distributions (so two dividends cannot both fit
under the cap that only one fits under) and a winding-up being recorded (so
no distribution is judged as if the issuer were not being wound up while
that is committed). Nothing else locks an issuer row.

Account codes: the ledger's chart (`ledger.models.ACCOUNT_CHART`) names
them; this app sits below `investments`, whose `accounts` module names the
bonds' accounts, so it names its three here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from bondplatform.actors import Actor
from bondplatform.audit import audit_record
from bondplatform.errors import BadInput, Conflict
from compliance.asset_lock import Outflow, asset_lock_judge
from compliance.models import Distribution, DistributionKind, FinancialYear
from compliance.services import refusals_kept
from issuers import gates
from issuers.models import Issuer
from issuers.selectors import issuer_get
from ledger.models import EntryKind
from ledger.selectors import ledger_issuer_get
from ledger.services import Posting, entry_post

CASH_AT_BANK = "cash_at_bank"
DISTRIBUTIONS = "distributions"
GOODS_AND_SERVICES = "goods_and_services"


def debit_account_for(kind: str) -> str:
    """Where a distribution of this kind is booked: an expense for what was bought, equity otherwise."""
    return GOODS_AND_SERVICES if kind == DistributionKind.CONSIDERATION else DISTRIBUTIONS


# --- financial years ------------------------------------------------------------------


def year_start_of(year_end: dt.date) -> dt.date:
    """The first day of the year that ends on `year_end`: the day after the same date a year earlier
    (28 February a year earlier for a year ending on 29 February)."""
    try:
        earlier = year_end.replace(year=year_end.year - 1)
    except ValueError:  # 29 February
        earlier = year_end.replace(year=year_end.year - 1, day=28)
    return earlier + dt.timedelta(days=1)


def financial_year_containing(*, issuer: Issuer | int, day: dt.date) -> FinancialYear | None:
    issuer_id = issuer if isinstance(issuer, int) else issuer.pk
    for year in FinancialYear.objects.filter(issuer_id=issuer_id, year_end__gte=day).order_by("year_end")[:2]:
        if year_start_of(year.year_end) <= day:
            return year
    return None


def financial_year_declare(
    *, actor: Actor, issuer_id: int, year_end: dt.date, distributable_profits_pence: int
) -> tuple[FinancialYear, bool]:
    """An officer declares the year's distributable profits, once. Returns (year, created).

    The same declaration again returns the first; a different figure for a
    year already declared is refused (409 `financial_year_declared`), as is a
    year overlapping another (409 `financial_year_overlaps`): a declaration
    is a record that dividends were judged against."""
    issuer = issuer_get(issuer_id)
    gates.require_officer(actor, issuer)
    if distributable_profits_pence < 0:
        raise BadInput(
            "Distributable profits cannot be negative: declare 0 for a year without any.",
            code="invalid_amount",
            fields={"distributable_profits": ["Zero or more."]},
        )
    with transaction.atomic(durable=True):
        Issuer.objects.select_for_update().filter(pk=issuer.pk).first()
        same = FinancialYear.objects.filter(issuer=issuer, year_end=year_end).first()
        if same is not None:
            if same.distributable_profits_pence != distributable_profits_pence:
                raise Conflict(
                    f"The year to {year_end} is already declared, with other profits.",
                    code="financial_year_declared",
                    extra={"financial_year": same.pk},
                )
            return same, False
        start = year_start_of(year_end)
        overlapping = FinancialYear.objects.filter(
            issuer=issuer, year_end__gte=start, year_end__lt=_year_end_after(year_end)
        ).first()
        if overlapping is not None:
            raise Conflict(
                f"The year to {year_end} would overlap the year to {overlapping.year_end}.",
                code="financial_year_overlaps",
                extra={"financial_year": overlapping.pk},
            )
        year = FinancialYear.objects.create(
            issuer=issuer,
            year_end=year_end,
            distributable_profits_pence=distributable_profits_pence,
            declared_by=gates.require_person(actor),
        )
        audit_record(
            actor=actor,
            issuer=issuer,
            action="financial_year.declare",
            obj=year,
            data={
                "year_end": year_end.isoformat(),
                "distributable_profits_pence": distributable_profits_pence,
            },
        )
        return year, True


def _year_end_after(year_end: dt.date) -> dt.date:
    """The last day a year that overlaps the one ending on `year_end` could end on, plus one."""
    try:
        later = year_end.replace(year=year_end.year + 1)
    except ValueError:
        later = year_end.replace(year=year_end.year + 1, day=28)
    return later


def financial_years_of(*, actor: Actor, issuer_id: int) -> QuerySet[FinancialYear]:
    issuer = ledger_issuer_get(issuer_id, actor=actor)
    return FinancialYear.objects.filter(issuer=issuer).order_by("-year_end")


# --- distributions --------------------------------------------------------------------


def _fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _ledger_key(issuer_id: int, idempotency_key: str) -> str:
    # The officer's key may be any text (a name, even): the ledger, which is never
    # edited, keeps only a digest of it.
    digest = hashlib.sha256(f"{issuer_id}:{idempotency_key}".encode()).hexdigest()[:40]
    return f"distribution:{digest}"


def _replay(existing: Distribution, fingerprint: str) -> tuple[Distribution, bool]:
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used before with a different distribution.",
            code="idempotency_key_reused",
        )
    return existing, False


def distribution_request(
    *,
    actor: Actor,
    issuer_id: int,
    kind: str,
    recipient_name: str,
    amount_pence: int,
    purpose: str,
    idempotency_key: str,
    recipient_asset_locked: bool = False,
    recipient_registration_number: str = "",
    invoice_reference: str = "",
) -> tuple[Distribution, bool]:
    """An officer pays money out of the issuer today. Returns (distribution, created).

    The asset lock judges it first; allowed, the cash moves in the ledger in
    the same transaction. The same key with the same request returns the
    first distribution and moves nothing; with another request it is
    refused (409 `idempotency_key_reused`)."""
    issuer = issuer_get(issuer_id)
    gates.require_officer(actor, issuer)
    if kind not in DistributionKind.values:
        raise BadInput(
            f"kind: one of {', '.join(DistributionKind.values)}.",
            code="invalid",
            fields={"kind": [f"One of: {', '.join(DistributionKind.values)}."]},
        )
    if amount_pence <= 0:
        raise BadInput("The amount must be more than zero.", code="invalid_amount")
    request = {
        "kind": kind,
        "recipient_name": recipient_name,
        "recipient_asset_locked": recipient_asset_locked,
        "recipient_registration_number": recipient_registration_number,
        "invoice_reference": invoice_reference,
        "amount_pence": amount_pence,
        "purpose": purpose,
    }
    fingerprint = _fingerprint(**request)
    existing = Distribution.objects.filter(issuer=issuer, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    with (
        refusals_kept(actor=actor, issuer=issuer, context={"distribution": request}),
        transaction.atomic(durable=True),
    ):
        # The issuer's row first: see the module's docstring for the lock order and why.
        issuer = Issuer.objects.select_for_update().get(pk=issuer.pk)
        existing = Distribution.objects.filter(issuer=issuer, idempotency_key=idempotency_key).first()
        if existing is not None:  # a concurrent twin got here first
            return _replay(existing, fingerprint)
        paid_on = timezone.localdate()
        year, paid_in_year = None, 0
        if kind == DistributionKind.DIVIDEND:
            year = financial_year_containing(issuer=issuer, day=paid_on)
            if year is not None:
                paid_in_year = (
                    Distribution.objects.filter(
                        financial_year=year, kind=DistributionKind.DIVIDEND
                    ).aggregate(total=Sum("amount_pence"))["total"]
                    or 0
                )
        decision = asset_lock_judge(
            actor=actor,
            issuer=issuer,
            outflow=Outflow(
                purpose=kind,
                amount_pence=amount_pence,
                recipient=recipient_name,
                invoice_reference=invoice_reference,
                recipient_asset_locked=recipient_asset_locked,
                recipient_registration_number=recipient_registration_number,
                distributable_profits_pence=year.distributable_profits_pence if year else None,
                dividends_paid_in_year_pence=paid_in_year,
            ),
        )
        # The ledger names purposes and ids, never the recipient (who may be a person).
        entry = entry_post(
            issuer=issuer,
            kind=EntryKind.DISTRIBUTION,
            value_date=paid_on,
            description=f"Distribution paid ({DistributionKind(kind).label.lower()})",
            idempotency_key=_ledger_key(issuer.pk, idempotency_key),
            postings=[
                Posting(debit_account_for(kind), amount_pence),
                Posting(CASH_AT_BANK, -amount_pence),
            ],
        )
        distribution = Distribution.objects.create(
            issuer=issuer,
            paid_on=paid_on,
            financial_year=year,
            ledger_entry=entry,
            decision=decision,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            created_by=gates.require_person(actor),
            **request,
        )
        audit_record(
            actor=actor,
            issuer=issuer,
            action="distribution.pay",
            obj=distribution,
            data={"kind": kind, "amount_pence": amount_pence, "ledger_sequence": entry.sequence},
        )
        return distribution, True


def distributions_of(*, actor: Actor, issuer_id: int) -> QuerySet[Distribution]:
    """An issuer's distributions, newest first, for those who may read its books (404, then 403)."""
    issuer = ledger_issuer_get(issuer_id, actor=actor)
    return (
        Distribution.objects.filter(issuer=issuer)
        .select_related("ledger_entry", "financial_year")
        .order_by("-paid_on", "-id")
    )
