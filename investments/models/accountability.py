"""What an issue's money was used for, as its officers report it to everyone.

Imported at the end of `investments.models`, so this is a model of the
`investments` app; `investments/services/accountability.py` writes it.

Invariants kept here:
- a use of funds is a positive amount, tied to the ledger entry that paid
  it, which is a distribution of the issue's issuer (checked by the service:
  the ledger entry is the proof that the money left, and the distribution's
  asset-lock decision that it was allowed to);
- the uses reported against one entry never add up to more than it paid, and
  an issue's uses never to more than it raised (the service, under the issue's
  lock).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class UseOfFunds(models.Model):
    issue = models.ForeignKey("investments.BondIssue", on_delete=models.PROTECT, related_name="uses_of_funds")
    ledger_entry = models.ForeignKey("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    amount_pence = models.BigIntegerField()
    purpose = models.CharField(max_length=500)
    spent_on = models.DateField()
    evidence_url = models.URLField(max_length=500, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issue_id", "spent_on", "id"]
        verbose_name_plural = "uses of funds"
        constraints = [
            models.CheckConstraint(condition=Q(amount_pence__gt=0), name="use_of_funds_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_pence}p of issue {self.issue_id}: {self.purpose[:40]}"
