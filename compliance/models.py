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
