"""Bond issues, subscriptions, payments, refunds and holdings.

Invariants kept here (in the database, not only in Python):
- an issue's terms are ordered: min_subscription <= max_subscription <= max_raise,
  min_raise <= max_raise, coupon >= 0, term >= 1 month, closes_at > opens_at;
- an issue's `committed_pence` (pending + paid subscriptions) never exceeds
  `max_raise_pence`, and `raised_pence` (paid) never exceeds `committed_pence`:
  the capacity cap holds even against a buggy caller;
- every amount is positive integer pence;
- payment references, provider ids and idempotency keys are unique;
- a holding's redeemed principal never exceeds its principal, and its
  interest totals are never negative (the rest of the bond's life after
  allotment keeps its invariants in `servicing.py`).

The ledger is its own app (`ledger`); this app only names its accounts (`accounts.py`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class IssueStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    ACTIVE = "active", "Active"
    REDEEMED = "redeemed", "Redeemed"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class InterestFrequency(models.TextChoices):
    ANNUAL = "annual", "Annual"
    SEMI_ANNUAL = "semi_annual", "Semi-annual"
    QUARTERLY = "quarterly", "Quarterly"
    AT_MATURITY = "at_maturity", "At maturity"


class DayCount(models.TextChoices):
    ACT_365F = "act_365f", "Actual/365 Fixed"
    THIRTY_360 = "30_360", "30/360 Bond Basis"


class BondIssue(models.Model):
    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="issues")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="GBP")
    coupon_rate_percent = models.DecimalField(max_digits=5, decimal_places=2)
    term_months = models.PositiveIntegerField()
    interest_frequency = models.CharField(max_length=12, choices=InterestFrequency.choices)
    day_count = models.CharField(max_length=8, choices=DayCount.choices, default=DayCount.ACT_365F)
    min_subscription_pence = models.BigIntegerField()
    max_subscription_pence = models.BigIntegerField()
    min_raise_pence = models.BigIntegerField()
    max_raise_pence = models.BigIntegerField()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    eligible_postcode_prefixes = models.JSONField(default=list, blank=True)
    cooling_off_days = models.PositiveIntegerField(default=14)
    notice_days = models.PositiveIntegerField(default=90)
    # Whether holders may have their interest added to their principal (`reinvest`).
    reinvestment_allowed = models.BooleanField(default=False)
    # Interest that depends on the issuer's performance (profits, output): for a CIC
    # capped at 20 % a year (CIC Regulations 2005 reg 21); the coupon is its maximum.
    performance_related = models.BooleanField(default=False)

    status = models.CharField(max_length=10, choices=IssueStatus.choices, default=IssueStatus.DRAFT)
    # Pending + paid subscriptions: the capacity taken. Changed only by one
    # conditional UPDATE (see services.subscriptions), never read-modify-write.
    committed_pence = models.BigIntegerField(default=0)
    # Paid subscriptions (money received and held).
    raised_pence = models.BigIntegerField(default=0)
    allotted_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(min_subscription_pence__gt=0), name="issue_min_sub_positive"),
            models.CheckConstraint(
                condition=Q(min_subscription_pence__lte=F("max_subscription_pence")),
                name="issue_min_sub_le_max_sub",
            ),
            models.CheckConstraint(
                condition=Q(max_subscription_pence__lte=F("max_raise_pence")),
                name="issue_max_sub_le_max_raise",
            ),
            models.CheckConstraint(condition=Q(min_raise_pence__gte=0), name="issue_min_raise_nonnegative"),
            models.CheckConstraint(
                condition=Q(min_raise_pence__lte=F("max_raise_pence")), name="issue_min_raise_le_max_raise"
            ),
            models.CheckConstraint(condition=Q(coupon_rate_percent__gte=0), name="issue_coupon_nonnegative"),
            models.CheckConstraint(condition=Q(term_months__gte=1), name="issue_term_at_least_a_month"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="issue_closes_after_opens"),
            models.CheckConstraint(
                condition=Q(committed_pence__gte=0) & Q(committed_pence__lte=F("max_raise_pence")),
                name="issue_committed_within_max_raise",
            ),
            models.CheckConstraint(
                condition=Q(raised_pence__gte=0) & Q(raised_pence__lte=F("committed_pence")),
                name="issue_raised_within_committed",
            ),
        ]
        indexes = [models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining_pence(self) -> int:
        return self.max_raise_pence - self.committed_pence


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"


class SubscriptionStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    ALLOTTED = "allotted", "Allotted"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    EXPIRED = "expired", "Expired"


# The statuses that hold a place in an issue (count against its caps).
LIVE_SUBSCRIPTION_STATUSES = (SubscriptionStatus.PENDING_PAYMENT, SubscriptionStatus.PAID)


class Subscription(models.Model):
    issue = models.ForeignKey(BondIssue, on_delete=models.PROTECT, related_name="subscriptions")
    investor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions"
    )
    amount_pence = models.BigIntegerField()
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING_PAYMENT
    )
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    provider = models.CharField(max_length=20)
    # What the resident quotes on a bank transfer; unique across the service.
    reference = models.CharField(max_length=20, unique=True)
    provider_payment_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    provider_client_secret = models.CharField(max_length=200, blank=True)
    received_pence = models.BigIntegerField(default=0)
    # The resident's Idempotency-Key, with the body it came with.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="subscription_amount_positive"),
            models.CheckConstraint(
                condition=Q(received_pence__gte=0), name="subscription_received_nonnegative"
            ),
            models.UniqueConstraint(
                fields=["investor", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="subscription_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["issue", "status"]),
            models.Index(fields=["investor", "status"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"Subscription {self.reference}"


class Receipt(models.Model):
    """Money received for a subscription (a bank transfer line, a card payment)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="receipts")
    provider = models.CharField(max_length=20)
    amount_pence = models.BigIntegerField()
    # The part held for the subscription; the rest (an overpayment, or money for an
    # ended subscription) was owed back at once. Refunds of held money go back
    # the way it came, so they are split by the provider of these receipts.
    held_pence = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=100, blank=True)
    received_on = models.DateField()
    # Unique per issuer's books: the officer's Idempotency-Key, a Stripe event id, a statement line.
    idempotency_key = models.CharField(max_length=200, unique=True)
    request_fingerprint = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    ledger_entry = models.ForeignKey("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(
                condition=Q(held_pence__gte=0) & Q(held_pence__lte=F("amount_pence")),
                name="receipt_held_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Receipt {self.pk} of {self.amount_pence}p"


class RefundStatus(models.TextChoices):
    # Owed to the resident; an officer sends it (bank transfer) and marks it sent.
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"


class RefundReason(models.TextChoices):
    COOLING_OFF = "cooling_off", "Cancelled within cooling-off"
    FAILED_RAISE = "failed_raise", "Minimum raise missed"
    WITHDRAWN = "withdrawn", "Offer withdrawn"
    OVERPAYMENT = "overpayment", "Paid more than due"
    LATE_PAYMENT = "late_payment", "Paid after the subscription ended"
    UNPAID_IN_TIME = "unpaid_in_time", "Not paid in full before it expired"
    # Refunded at the provider (e.g. from Stripe's dashboard), not by us: recorded when Stripe tells us.
    PROVIDER = "provider", "Refunded at the payment provider"


class Refund(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="refunds")
    amount_pence = models.BigIntegerField()
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    provider = models.CharField(max_length=20)
    provider_refund_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_pence__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.amount_pence}p ({self.status})"


class InterestPreference(models.TextChoices):
    PAY = "pay", "Pay"
    WAIVE = "waive", "Waive"
    REINVEST = "reinvest", "Reinvest"


class HoldingStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REDEEMED = "redeemed", "Redeemed"


class Holding(models.Model):
    """An allotted bond: the register of bondholders is the set of holdings."""

    issue = models.ForeignKey(BondIssue, on_delete=models.PROTECT, related_name="holdings")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="holdings")
    subscription = models.OneToOneField(Subscription, on_delete=models.PROTECT, related_name="holding")
    principal_pence = models.BigIntegerField()
    allotted_on = models.DateField()
    interest_preference = models.CharField(
        max_length=10, choices=InterestPreference.choices, default=InterestPreference.PAY
    )
    status = models.CharField(max_length=10, choices=HoldingStatus.choices, default=HoldingStatus.ACTIVE)
    # After allotment (servicing.py says how each moves): principal grows
    # by reinvested interest; `redeemed_pence` is the part owed back (early
    # redemption, maturity); the running totals are the sums of the holding's
    # interest lines and redemption interest, kept in the same transaction.
    redeemed_pence = models.BigIntegerField(default=0)
    interest_paid_pence = models.BigIntegerField(
        default=0
    )  # net, credited to the holder (paid or reinvested)
    interest_reinvested_pence = models.BigIntegerField(default=0)
    interest_waived_pence = models.BigIntegerField(default=0)
    tax_withheld_pence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["issue_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(principal_pence__gte=0), name="holding_principal_nonnegative"),
            models.CheckConstraint(
                condition=Q(redeemed_pence__gte=0) & Q(redeemed_pence__lte=F("principal_pence")),
                name="holding_redeemed_within_principal",
            ),
            models.CheckConstraint(
                condition=Q(interest_paid_pence__gte=0)
                & Q(interest_reinvested_pence__gte=0)
                & Q(interest_reinvested_pence__lte=F("interest_paid_pence"))
                & Q(interest_waived_pence__gte=0)
                & Q(tax_withheld_pence__gte=0),
                name="holding_interest_totals_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"Holding {self.pk} in {self.issue}"

    @property
    def outstanding_pence(self) -> int:
        """Principal still lent to the issuer: what earns interest and is repaid at maturity."""
        return self.principal_pence - self.redeemed_pence
