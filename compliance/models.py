"""The decision log.

Every allow or deny of a rule (caps, eligibility, rate caps, the asset lock)
is a `Decision`. An allow is written in the transaction of the action it
allows; a deny is kept even though the refused action rolls back (see
`compliance.services.refusals_kept`). Decisions are never edited. The audit
trail of state changes is `bondplatform.models.AuditEvent`.
"""

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    ALLOW = "allow", "Allowed"
    DENY = "deny", "Denied"


class Decision(models.Model):
    issuer = models.ForeignKey(
        "issuers.Issuer", on_delete=models.PROTECT, related_name="decisions", null=True
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    system_actor = models.CharField(max_length=40, blank=True, default="")
    rule = models.CharField(max_length=60)
    outcome = models.CharField(max_length=5, choices=Outcome.choices)
    reason = models.TextField()
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=40, blank=True)
    context = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["issuer", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.rule}: {self.outcome}"


# --- money leaving an issuer other than to its bondholders ---------------------------
#
# Invariants kept here:
# - a distribution is paid once: (issuer, idempotency key) is unique, and it
#   names the ledger entry that moved the cash and the asset-lock decision that
#   allowed it (one of each, never shared);
# - a financial year is declared once per issuer and year end;
# - amounts are positive integer pence (profits may be zero);
# - both are records: the database refuses UPDATE and DELETE (migration 0005),
#   as for decisions. A wrong one is answered by a new row, never edited.


class DistributionKind(models.TextChoices):
    """The asset lock's purposes (`compliance.asset_lock.Purpose`) that are not owed to bondholders."""

    CONSIDERATION = "consideration", "Payment for full consideration"
    TRANSFER_TO_ASSET_LOCKED_BODY = "transfer_to_asset_locked_body", "Transfer to another asset-locked body"
    DIVIDEND = "dividend", "Dividend"
    OTHER = "other", "Other"


class FinancialYear(models.Model):
    """The distributable profits an officer declares for the year ending `year_end` (the CIC dividend cap's base)."""

    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="financial_years")
    year_end = models.DateField()
    distributable_profits_pence = models.BigIntegerField()
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issuer_id", "-year_end"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "year_end"], name="financial_year_once"),
            models.CheckConstraint(
                condition=models.Q(distributable_profits_pence__gte=0),
                name="financial_year_profits_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"year to {self.year_end} (issuer {self.issuer_id})"


class Distribution(models.Model):
    """Money paid out of an issuer to someone other than its bondholders, as the asset lock allowed it."""

    issuer = models.ForeignKey("issuers.Issuer", on_delete=models.PROTECT, related_name="distributions")
    kind = models.CharField(max_length=40, choices=DistributionKind.choices)
    recipient_name = models.CharField(max_length=200)
    recipient_asset_locked = models.BooleanField(default=False)
    recipient_registration_number = models.CharField(max_length=50, blank=True)
    invoice_reference = models.CharField(max_length=100, blank=True)
    amount_pence = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="GBP")
    purpose = models.CharField(max_length=500)
    paid_on = models.DateField()
    # Dividends: the year whose declared profits they count against.
    financial_year = models.ForeignKey(
        FinancialYear, on_delete=models.PROTECT, related_name="dividends", null=True, blank=True
    )
    ledger_entry = models.OneToOneField("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="distribution_amount_positive"
            ),
            models.UniqueConstraint(fields=["issuer", "idempotency_key"], name="distribution_key_once"),
        ]

    def __str__(self) -> str:
        return f"Distribution {self.pk} ({self.kind}, {self.amount_pence}p)"
