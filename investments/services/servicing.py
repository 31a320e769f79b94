"""What interest and principal owed to a holder look like: the tax on it, and its ledger entry.

Shared by interest runs, redemptions and maturity, so that a coupon and the
interest accrued to a redemption date are taxed and posted the same way
(the postings are listed in `investments/models/servicing.py`).

Tax: registered societies pay interest gross to UK residents (ITA 2007
s.887) and report it instead (the HMRC return); other issuers deduct their
basic-rate setting (`Issuer.interest_tax_withholding_percent`, 20 % by
default, ITA 2007 s.874) from interest paid to individuals, posted to
`tax_payable`. The tax is the gross interest times the rate, rounded
half-even to the penny once (`bondplatform.money.round_to_pence`), so gross
= tax + net exactly on every line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from bondplatform.money import round_to_pence
from investments import accounts
from investments.interest import CouponPeriod, coupon_schedule
from investments.models import BondIssue, InterestPreference
from issuers.models import Issuer
from ledger.models import EntryKind
from ledger.services import EntrySpec, Posting


def tax_withheld_pence(*, issuer: Issuer, gross_pence: int) -> int:
    """The income tax to deduct from `gross_pence` of interest paid to an individual."""
    if issuer.is_society or gross_pence <= 0:
        return 0
    return round_to_pence(gross_pence * Fraction(issuer.interest_tax_withholding_percent) / 100)


@dataclass(frozen=True)
class InterestApplied:
    """Interest due to one holding, applied by a preference: the amounts, and the entry (if any)."""

    preference: str
    gross_pence: int  # credited to the holder (paid or reinvested); 0 when waived
    tax_pence: int
    net_pence: int
    reinvested_pence: int
    waived_pence: int
    entry: EntrySpec | None


def interest_apply(
    *,
    issuer: Issuer,
    holding_id: int,
    currency: str,
    amount_pence: int,
    preference: str,
    value_date: dt.date,
    description: str,
    idempotency_key: str,
) -> InterestApplied:
    """Interest of `amount_pence` due to a holding, paid, reinvested or waived (see the module docstring)."""
    if amount_pence <= 0:
        return InterestApplied(preference, 0, 0, 0, 0, 0, None)
    if preference == InterestPreference.WAIVE:
        entry = EntrySpec(
            kind=EntryKind.INTEREST_WAIVER,
            value_date=value_date,
            description=description,
            idempotency_key=idempotency_key,
            postings=[
                Posting(accounts.INTEREST_WAIVED_CONTRA, amount_pence, currency),
                Posting(accounts.interest_waived_of(holding_id), -amount_pence, currency),
            ],
        )
        return InterestApplied(preference, 0, 0, 0, 0, amount_pence, entry)
    tax = tax_withheld_pence(issuer=issuer, gross_pence=amount_pence)
    net = amount_pence - tax
    reinvest = preference == InterestPreference.REINVEST
    credit = accounts.principal_of(holding_id) if reinvest else accounts.interest_payable_of(holding_id)
    legs = [Posting(accounts.INTEREST_EXPENSE, amount_pence, currency)]
    if net:
        legs.append(Posting(credit, -net, currency))
    if tax:
        legs.append(Posting(accounts.TAX_PAYABLE, -tax, currency))
    entry = EntrySpec(
        kind=EntryKind.INTEREST_REINVESTMENT if reinvest else EntryKind.INTEREST_PAYMENT,
        value_date=value_date,
        description=description,
        idempotency_key=idempotency_key,
        postings=legs,
    )
    return InterestApplied(preference, amount_pence, tax, net, net if reinvest else 0, 0, entry)


def principal_owed_entry(
    *,
    holding_id: int,
    currency: str,
    amount_pence: int,
    value_date: dt.date,
    description: str,
    idempotency_key: str,
) -> EntrySpec:
    """Principal falls due to the holder (an approved redemption, or maturity): owed until sent."""
    return EntrySpec(
        kind=EntryKind.REDEMPTION,
        value_date=value_date,
        description=description,
        idempotency_key=idempotency_key,
        postings=[
            Posting(accounts.principal_of(holding_id), amount_pence, currency),
            Posting(accounts.redemption_payable_of(holding_id), -amount_pence, currency),
        ],
    )


def schedule_of(issue: BondIssue) -> list[CouponPeriod]:
    """An allotted issue's coupon periods (empty before allotment)."""
    if issue.allotted_on is None:
        return []
    return coupon_schedule(
        allotted_on=issue.allotted_on, term_months=issue.term_months, frequency=issue.interest_frequency
    )
