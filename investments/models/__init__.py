"""The investments app's models: the offer (issues, subscriptions, receipts, refunds,
holdings) in `offers.py`, what an issue's money was used for and its news to bondholders in
`accountability.py`, and a bond's life after allotment (interest runs, redemptions,
payouts, payout accounts) in `servicing.py`. Each module opens with the invariants it keeps."""

from investments.models.accountability import (
    PHOTO_CONTENT_TYPES,
    BondholderUpdate,
    BondholderUpdatePhoto,
    UseOfFunds,
)
from investments.models.offers import (
    LIVE_SUBSCRIPTION_STATUSES,
    BondIssue,
    DayCount,
    Holding,
    HoldingStatus,
    InterestFrequency,
    InterestPreference,
    IssueStatus,
    PaymentMethod,
    Receipt,
    Refund,
    RefundReason,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from investments.models.servicing import (
    InterestLine,
    InterestRun,
    InterestRunStatus,
    Payout,
    PayoutAccount,
    PayoutBatch,
    PayoutBatchStatus,
    PayoutKind,
    PayoutStatus,
    RedemptionRequest,
    RedemptionStatus,
)

# The Stripe webhook inbox and the statement lines' claims are models of this app, kept with
# the payments package.
from investments.payments.models import StatementLineClaim, StripeEvent, StripeEventOutcome

__all__ = [
    "LIVE_SUBSCRIPTION_STATUSES",
    "PHOTO_CONTENT_TYPES",
    "BondIssue",
    "BondholderUpdate",
    "BondholderUpdatePhoto",
    "DayCount",
    "Holding",
    "HoldingStatus",
    "InterestFrequency",
    "InterestLine",
    "InterestPreference",
    "InterestRun",
    "InterestRunStatus",
    "IssueStatus",
    "PaymentMethod",
    "Payout",
    "PayoutAccount",
    "PayoutBatch",
    "PayoutBatchStatus",
    "PayoutKind",
    "PayoutStatus",
    "Receipt",
    "RedemptionRequest",
    "RedemptionStatus",
    "Refund",
    "RefundReason",
    "RefundStatus",
    "StatementLineClaim",
    "StripeEvent",
    "StripeEventOutcome",
    "Subscription",
    "SubscriptionStatus",
    "UseOfFunds",
]
