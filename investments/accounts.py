"""Which ledger account each business concept books to: one place for the codes.

Codes name purposes and ids only (never people), per the chart in
`ledger.models.ACCOUNT_CHART`. Money held for subscriptions is
kept per issue, so the ledger alone shows what each issue holds, and a failed
raise visibly nets its own account to zero.
"""

from __future__ import annotations

from collections.abc import Iterable

CASH_AT_BANK = "cash_at_bank"
STRIPE_CLEARING = "stripe_clearing"
STRIPE_FEES = "stripe_fees"
REFUNDS_PAYABLE = "refunds_payable"


def held_for(issue_id: int) -> str:
    """Subscription money received for an issue and not yet allotted."""
    return f"subscriptions_held:{issue_id}"


def principal_of(holding_id: int) -> str:
    return f"bond_principal:{holding_id}"


def interest_payable_of(holding_id: int) -> str:
    return f"interest_payable:{holding_id}"


def issue_account_codes(issue_id: int, holding_ids: Iterable[int]) -> list[str]:
    """Every account that belongs to one issue: its held money and its holdings'."""
    return [held_for(issue_id)] + [
        code for pk in holding_ids for code in (principal_of(pk), interest_payable_of(pk))
    ]


# --- after allotment: interest, redemptions, payouts -------------------------------

INTEREST_EXPENSE = "interest_expense"
TAX_PAYABLE = "tax_payable"
# Memorandum pair for interest a holder waived: it never becomes the holder's
# money nor the issuer's expense, but the auditor sees what was forgone.
INTEREST_WAIVED_CONTRA = "memo_interest_waived_contra"


def redemption_payable_of(holding_id: int) -> str:
    """Principal owed back to a holder (an approved redemption, or maturity) and not yet sent."""
    return f"redemption_payable:{holding_id}"


def interest_waived_of(holding_id: int) -> str:
    """Memorandum: the interest this holding's holder chose to forgo."""
    return f"memo_interest_waived:{holding_id}"
