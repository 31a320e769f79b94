"""The asset lock: the one judge of every proposed outflow of an issuer's money.

An asset-locked body (a registered society under SI 2006/264, a CIC under
the CIC Regulations 2005 Sch 3, or a body whose articles lock its assets)
may let assets leave only:
- to its bondholders as principal and interest at the terms agreed;
- as refunds of subscriptions it received;
- for full consideration (a supplier paid against an invoice);
- to another asset-locked body;
- and, for a CIC limited by shares, as dividends within the aggregate cap of
  35 % of the year's distributable profits (CIC Regulations 2005 reg 19 and
  20, as amended 2014).
Everything else is refused. Once the issuer is being wound up, what is owed
to its creditors (bondholders, refunds, suppliers) may still be paid, and
the residual balance may go only to another asset-locked body.

`asset_lock_rules` is pure: facts in, a judgement out, so each rule is
tested at its boundary for each legal form. `asset_lock_judge` is what the
services call inside the transaction that moves the money: it keeps the
decision (allow, with the figures) in that transaction, or raises a
refusal whose deny decision `refusals_kept` keeps after the rollback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from bondplatform.actors import Actor
from bondplatform.errors import RuleViolation
from bondplatform.money import display_pounds, round_to_pence
from compliance.models import Decision
from compliance.services import decision_record

CIC_DIVIDEND_CAP = Fraction(35, 100)

SOURCES = {
    "statutory": "Co-operative and Community Benefit Societies Act 2014 and SI 2006/264 (the statutory asset lock)",
    "cic": "Community Interest Company Regulations 2005, Schedule 3 (the CIC asset lock)",
    "articles": "the issuer's articles or rules (its own asset lock)",
    "dividend_cap": "CIC Regulations 2005 reg 19 and 20 as amended 2014 (aggregate dividend cap: 35 %)",
}


class Purpose(StrEnum):
    BOND_PRINCIPAL = "bond_principal"
    BOND_INTEREST = "bond_interest"
    REFUND = "refund"
    CONSIDERATION = "consideration"
    TRANSFER_TO_ASSET_LOCKED_BODY = "transfer_to_asset_locked_body"
    DIVIDEND = "dividend"
    OTHER = "other"


# Outflows that pay what the issuer owes: still payable during a winding-up.
CREDITOR_PURPOSES = frozenset(
    {Purpose.BOND_PRINCIPAL, Purpose.BOND_INTEREST, Purpose.REFUND, Purpose.CONSIDERATION}
)


@dataclass(frozen=True)
class IssuerFacts:
    legal_form: str
    asset_lock_basis: str  # statutory, cic, articles, none
    winding_up: bool = False


@dataclass(frozen=True)
class Outflow:
    """A proposed payment out of the issuer's money: who, how much, why, and the figures that justify it."""

    purpose: str
    amount_pence: int
    recipient: str
    # Principal, interest and refunds: what the terms (or the receipt) make owed to this recipient.
    owed_pence: int | None = None
    # Consideration: the supplier's invoice.
    invoice_reference: str = ""
    # Transfers: the recipient body's lock and registration.
    recipient_asset_locked: bool = False
    recipient_registration_number: str = ""
    # Dividends: the year's declared distributable profits, and dividends already paid in that year.
    distributable_profits_pence: int | None = None
    dividends_paid_in_year_pence: int = 0


@dataclass(frozen=True)
class Judgement:
    allowed: bool
    rule: str
    reason: str
    source: str
    figures: dict[str, Any] = field(default_factory=dict)


def _refuse(reason: str, source: str, **figures: Any) -> Judgement:
    return Judgement(False, "asset_lock", reason, source, figures)


def _allow(reason: str, source: str, **figures: Any) -> Judgement:
    return Judgement(True, "asset_lock", reason, source, figures)


def asset_lock_rules(*, issuer: IssuerFacts, outflow: Outflow) -> Judgement:
    """Judge one outflow against the issuer's asset lock. Pure."""
    amount = outflow.amount_pence
    if amount <= 0:
        return _refuse("An outflow is a positive amount.", "the ledger", amount_pence=amount)
    if issuer.asset_lock_basis == "none":
        return _allow("The issuer has no asset lock.", "no asset lock", amount_pence=amount)
    source = SOURCES.get(issuer.asset_lock_basis, SOURCES["articles"])
    try:
        purpose = Purpose(outflow.purpose)
    except ValueError:
        purpose = Purpose.OTHER
    figures: dict[str, Any] = {
        "amount_pence": amount,
        "purpose": str(purpose),
        "recipient": outflow.recipient,
    }

    if (
        issuer.winding_up
        and purpose not in CREDITOR_PURPOSES
        and purpose != Purpose.TRANSFER_TO_ASSET_LOCKED_BODY
    ):
        return _refuse(
            "The issuer is being wound up: after its creditors are paid, its residual assets may go only "
            "to another asset-locked body.",
            source,
            **figures,
        )

    if purpose in (Purpose.BOND_PRINCIPAL, Purpose.BOND_INTEREST, Purpose.REFUND):
        owed = outflow.owed_pence
        what = {
            Purpose.BOND_PRINCIPAL: "principal owed under the issue's terms",
            Purpose.BOND_INTEREST: "interest owed under the issue's terms",
            Purpose.REFUND: "money received for the subscription",
        }[purpose]
        if owed is None or amount > owed:
            return _refuse(
                f"{display_pounds(amount)} is more than the {what} ({display_pounds(owed or 0)}).",
                source,
                owed_pence=owed,
                **figures,
            )
        return _allow(f"{display_pounds(amount)} is within the {what}.", source, owed_pence=owed, **figures)

    if purpose == Purpose.CONSIDERATION:
        if not outflow.invoice_reference.strip():
            return _refuse("A payment for full consideration needs the invoice it pays.", source, **figures)
        return _allow(
            "Paid for full consideration.", source, invoice_reference=outflow.invoice_reference, **figures
        )

    if purpose == Purpose.TRANSFER_TO_ASSET_LOCKED_BODY:
        if not outflow.recipient_asset_locked or not outflow.recipient_registration_number.strip():
            return _refuse(
                "A transfer of assets may go only to another asset-locked body, named by its registration number.",
                source,
                recipient_asset_locked=outflow.recipient_asset_locked,
                **figures,
            )
        return _allow(
            "Transfer to another asset-locked body.",
            source,
            recipient_registration_number=outflow.recipient_registration_number,
            **figures,
        )

    if purpose == Purpose.DIVIDEND:
        if issuer.legal_form != "cic_limited_by_shares":
            return _refuse(
                "Only a CIC limited by shares may pay dividends; this issuer's asset lock forbids them.",
                source,
                legal_form=issuer.legal_form,
                **figures,
            )
        profits = outflow.distributable_profits_pence
        if profits is None or profits <= 0:
            return _refuse(
                "No distributable profits are declared for the year: no dividend may be paid.",
                SOURCES["dividend_cap"],
                **figures,
            )
        cap = round_to_pence(profits * CIC_DIVIDEND_CAP)
        paid = outflow.dividends_paid_in_year_pence
        cap_figures = {"cap_pence": cap, "paid_in_year_pence": paid, "distributable_profits_pence": profits}
        if paid + amount > cap:
            return _refuse(
                f"Dividends of {display_pounds(paid + amount)} in the year would exceed 35 % of the distributable "
                f"profits ({display_pounds(cap)}).",
                SOURCES["dividend_cap"],
                **cap_figures,
                **figures,
            )
        return _allow("Within the aggregate dividend cap.", SOURCES["dividend_cap"], **cap_figures, **figures)

    return _refuse(
        "An asset-locked body may not pay this out: it is neither owed to a bondholder, a refund, "
        "a payment for full consideration, nor a transfer to another asset-locked body.",
        source,
        **figures,
    )


def asset_lock_judge(*, actor: Actor, issuer: Any, outflow: Outflow, subject: Any = None) -> Decision:
    """Judge an outflow inside the caller's transaction: the allow decision is kept with it,
    a refusal raises 422 `asset_lock_violation` (kept by the caller's `refusals_kept`)."""
    facts = IssuerFacts(
        legal_form=issuer.legal_form,
        asset_lock_basis=issuer.asset_lock_basis,
        winding_up=getattr(issuer, "winding_up_on", None) is not None,
    )
    judgement = asset_lock_rules(issuer=facts, outflow=outflow)
    context = {**judgement.figures, "source": judgement.source, "outflow": _jsonable(asdict(outflow))}
    if not judgement.allowed:
        raise RuleViolation(
            judgement.reason,
            code="asset_lock_violation",
            rule=judgement.rule,
            extra={"rule": judgement.rule, "source": judgement.source, **_jsonable(judgement.figures)},
        )
    return decision_record(
        actor=actor,
        issuer=issuer,
        rule=judgement.rule,
        allowed=True,
        reason=judgement.reason,
        subject=subject,
        context=_jsonable(context),
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal | Fraction) else v for k, v in values.items()}
