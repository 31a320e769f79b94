"""A bond's life after allotment: interest runs, early redemptions, payouts and where they go.

Imported at the end of `investments.models`, so these are models of the
`investments` app. The services that write them are
`investments/services/interest_runs.py`, `redemptions.py` and `payouts.py`.

Invariants kept here (in the database, not only in Python):
- one interest run per issue and period (`interest_run_once_per_period`); its
  counters and totals are never negative and `holdings_done <= holdings_total`;
- one interest line per run and holding (`interest_line_once_per_holding`):
  what makes a killed run, run again, skip the holdings it had done. A line
  adds up: `tax + net = gross`; reinvested interest is at most the net; a
  waived line credits nothing (`gross = 0`). The line, the holding's running
  totals and the line's ledger entry (idempotency key
  `interest:<issue>:<period_end>:<holding>`) commit in one transaction;
- a redemption request asks for a positive amount, is decided once, and is
  dated no earlier than it was made;
- a payout is a positive amount owed to one holder, created once per
  business event (`payout_key_once`), and belongs to one batch; a batch is
  either an interest run's or a day's, with at most one open batch per
  issuer and day;
- a payout account is either a UK account (sort code and account number) or
  an IBAN, never both, never neither; validated before it is stored.

Ledger (per issuer, integer pence; `investments/accounts.py` names the codes):
- interest run, `pay`:      Dr interest_expense (gross) / Cr interest_payable:<h> (net) / Cr tax_payable (tax)
- interest run, `reinvest`: Dr interest_expense (gross) / Cr bond_principal:<h> (net) / Cr tax_payable (tax)
- interest run, `waive`:    memorandum only: Dr memo_interest_waived_contra / Cr memo_interest_waived:<h>
- redemption approved, maturity: Dr bond_principal:<h> / Cr redemption_payable:<h>, value date the
  redemption date, and the interest accrued to it as for `pay` (or `waive`);
- payout sent (a batch marked sent): Dr interest_payable:<h> or redemption_payable:<h> / Cr cash_at_bank.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from investments.models.offers import InterestPreference


class InterestRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class InterestRun(models.Model):
    """The interest of one coupon period, for every holding of an issue."""

    issue = models.ForeignKey("investments.BondIssue", on_delete=models.PROTECT, related_name="interest_runs")
    period_start = models.DateField()
    period_end = models.DateField()  # the coupon date
    status = models.CharField(
        max_length=10, choices=InterestRunStatus.choices, default=InterestRunStatus.QUEUED
    )
    failure_reason = models.TextField(blank=True)
    holdings_total = models.PositiveIntegerField(default=0)
    holdings_done = models.PositiveIntegerField(default=0)
    # Sums of the run's lines (so of rounded amounts, DESIGN §4).
    total_gross_pence = models.BigIntegerField(default=0)  # credited to holders: paid and reinvested
    total_tax_withheld_pence = models.BigIntegerField(default=0)
    total_net_pence = models.BigIntegerField(default=0)
    total_reinvested_pence = models.BigIntegerField(default=0)
    total_waived_pence = models.BigIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    requested_by_system = models.CharField(max_length=40, blank=True, default="")
    # The officer's Idempotency-Key, if they gave one.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issue_id", "period_end"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "period_end"], name="interest_run_once_per_period"),
            models.UniqueConstraint(
                fields=["issue", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="interest_run_idempotency_key_once",
            ),
            models.CheckConstraint(
                condition=Q(period_start__lt=F("period_end")), name="interest_run_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(holdings_done__lte=F("holdings_total")), name="interest_run_done_within_total"
            ),
            models.CheckConstraint(
                condition=Q(total_gross_pence__gte=0)
                & Q(total_tax_withheld_pence__gte=0)
                & Q(total_net_pence__gte=0)
                & Q(total_reinvested_pence__gte=0)
                & Q(total_waived_pence__gte=0),
                name="interest_run_totals_nonnegative",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="interest_run_status")]

    def __str__(self) -> str:
        return f"Interest run {self.pk}: issue {self.issue_id} to {self.period_end} ({self.status})"


class InterestLine(models.Model):
    """One holding's interest in one run: what was computed, how it was applied, where it was posted."""

    run = models.ForeignKey(InterestRun, on_delete=models.PROTECT, related_name="lines")
    holding = models.ForeignKey(
        "investments.Holding", on_delete=models.PROTECT, related_name="interest_lines"
    )
    # The preference applied: the holder's, or `pay` where reinvesting would break a cap.
    preference = models.CharField(max_length=10, choices=InterestPreference.choices)
    principal_pence = models.BigIntegerField()  # the outstanding principal the coupon was computed on
    gross_pence = models.BigIntegerField(default=0)
    tax_pence = models.BigIntegerField(default=0)
    net_pence = models.BigIntegerField(default=0)
    reinvested_pence = models.BigIntegerField(default=0)
    waived_pence = models.BigIntegerField(default=0)
    # None when nothing was due (a zero coupon, nothing outstanding).
    ledger_entry = models.ForeignKey(
        "ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["run_id", "holding_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "holding"], name="interest_line_once_per_holding"),
            models.CheckConstraint(
                condition=Q(principal_pence__gte=0)
                & Q(gross_pence__gte=0)
                & Q(tax_pence__gte=0)
                & Q(net_pence__gte=0)
                & Q(reinvested_pence__gte=0)
                & Q(waived_pence__gte=0),
                name="interest_line_amounts_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(gross_pence=F("tax_pence") + F("net_pence")), name="interest_line_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(reinvested_pence__lte=F("net_pence")), name="interest_line_reinvested_within_net"
            ),
            models.CheckConstraint(
                condition=Q(waived_pence=0) | Q(gross_pence=0), name="interest_line_waived_credits_nothing"
            ),
        ]

    def __str__(self) -> str:
        return f"Interest line of holding {self.holding_id} in run {self.run_id}"


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class RedemptionRequest(models.Model):
    """A holder asks for some principal back before maturity, after the issue's notice period."""

    holding = models.ForeignKey(
        "investments.Holding", on_delete=models.PROTECT, related_name="redemption_requests"
    )
    amount_pence = models.BigIntegerField()
    status = models.CharField(
        max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.PENDING
    )
    requested_on = models.DateField()
    redemption_date = models.DateField()  # requested_on + the issue's notice_days
    # The holder's Idempotency-Key, if they gave one.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)  # the officer's, with the decision
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_by_system = models.CharField(max_length=40, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    # On approval: the interest accrued on the amount to the redemption date, and the tax on it.
    accrued_interest_pence = models.BigIntegerField(default=0)
    interest_tax_pence = models.BigIntegerField(default=0)
    interest_waived_pence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="redemption_amount_positive"),
            models.CheckConstraint(
                condition=Q(redemption_date__gte=F("requested_on")), name="redemption_date_after_request"
            ),
            models.CheckConstraint(
                condition=Q(accrued_interest_pence__gte=0)
                & Q(interest_tax_pence__gte=0)
                & Q(interest_tax_pence__lte=F("accrued_interest_pence"))
                & Q(interest_waived_pence__gte=0),
                name="redemption_interest_nonnegative",
            ),
            models.UniqueConstraint(
                fields=["holding", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="redemption_idempotency_key_once",
            ),
        ]
        indexes = [models.Index(fields=["holding", "status"], name="redemption_holding_status")]

    def __str__(self) -> str:
        return f"Redemption request {self.pk} of {self.amount_pence}p ({self.status})"


class PayoutBatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    SENT = "sent", "Sent"


class PayoutBatch(models.Model):
    """Payouts paid together: an interest run's, or the redemptions and maturities of one day."""

    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="payout_batches")
    interest_run = models.OneToOneField(
        InterestRun, on_delete=models.PROTECT, related_name="payout_batch", null=True, blank=True
    )
    opened_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=PayoutBatchStatus.choices, default=PayoutBatchStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The officer's Idempotency-Key when marking it sent, if they gave one: it names this
    # batch's sending, so the same key for another batch of the issuer is refused.
    sent_idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "sent_idempotency_key"],
                condition=Q(sent_idempotency_key__isnull=False),
                name="payout_batch_sent_key_once",
            ),
            models.UniqueConstraint(
                fields=["issuer", "opened_on"],
                condition=Q(interest_run__isnull=True) & Q(status="open"),
                name="payout_batch_one_open_per_day",
            ),
            models.CheckConstraint(
                condition=Q(status="open", sent_at__isnull=True) | Q(status="sent", sent_at__isnull=False),
                name="payout_batch_sent_when_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout batch {self.pk} of issuer {self.issuer_id} ({self.status})"


class PayoutKind(models.TextChoices):
    INTEREST = "interest", "Interest"
    REDEMPTION = "redemption", "Early redemption"
    MATURITY = "maturity", "Maturity"


class PayoutStatus(models.TextChoices):
    OWED = "owed", "Owed"
    SENT = "sent", "Sent"


class Payout(models.Model):
    """Money owed to a holder, posted as payable at once, sent with its batch."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    holding = models.ForeignKey("investments.Holding", on_delete=models.PROTECT, related_name="payouts")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(max_length=10, choices=PayoutKind.choices)
    amount_pence = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.OWED)
    # The business event that made it owed (`interest:<run>:<holding>`, `redemption:<request>`, ...).
    key = models.CharField(max_length=200)
    redemption_request = models.ForeignKey(
        RedemptionRequest, on_delete=models.PROTECT, related_name="payouts", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_entry = models.ForeignKey(
        "ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["batch_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="payout_amount_positive"),
            models.UniqueConstraint(fields=["key"], name="payout_key_once"),
            models.CheckConstraint(
                condition=Q(status="owed", sent_at__isnull=True) | Q(status="sent", sent_at__isnull=False),
                name="payout_sent_when_sent",
            ),
        ]
        indexes = [
            models.Index(fields=["holding", "status"], name="payout_holding_status"),
            models.Index(fields=["holder", "status"], name="payout_holder_status"),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} of {self.amount_pence}p ({self.kind}, {self.status})"


class PayoutAccount(models.Model):
    """Where a resident's payouts go: a UK account, or an IBAN (checked with `schwifty`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payout_account"
    )
    account_name = models.CharField(max_length=70)
    sort_code = models.CharField(max_length=6, blank=True)  # six digits, no dashes
    account_number = models.CharField(max_length=8, blank=True)
    iban = models.CharField(max_length=34, blank=True)  # compact, upper case
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(iban="") & ~Q(sort_code="") & ~Q(account_number=""))
                | (~Q(iban="") & Q(sort_code="") & Q(account_number="")),
                name="payout_account_uk_or_iban",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout account of {self.user_id}"
