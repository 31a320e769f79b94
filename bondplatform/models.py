"""The audit trail: one row for every state change, written in the change's transaction.

It sits at the bottom of the house so that every app (people and issuers
included) can record what it changed without importing the apps above it.
The decision log of the rules stays with the rules, in `compliance`.
Rows are never edited. `actor` is the person who acted; `system_actor`
names the service when it acted on its own (see `bondplatform.actors`).
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    issuer = models.ForeignKey(
        "issuers.Issuer", on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    system_actor = models.CharField(max_length=40, blank=True, default="")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table keeps the name it had in `compliance` (see migration 0001).
        db_table = "compliance_auditevent"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["issuer", "-at"], name="compliance__issuer__e4992c_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
