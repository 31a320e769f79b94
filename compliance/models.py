"""The decision log and the audit trail.

Every allow or deny of a rule (caps, eligibility, rate caps, the asset lock)
is a `Decision`; every state change is an `AuditEvent`. Both are written in
the same transaction as the change they describe, and neither is edited.
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


class AuditEvent(models.Model):
    issuer = models.ForeignKey(
        "issuers.Issuer", on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["issuer", "-at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
