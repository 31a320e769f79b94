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


class QueuedWork(models.Model):
    """Work to run after a transaction commits, written in that transaction (an outbox).

    A row exists exactly when its transaction committed, so no crash between
    COMMIT and handing the work to the django-q2 worker can lose it: the
    worker is told at once, and a job every minute runs whatever was not
    claimed (`bondplatform.background`). `claimed_until` keeps two workers
    from running the same row at once; the work itself must be safe to run
    again (idempotency keys), since a worker may die after doing it and
    before marking it done.
    """

    func = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], name="queued_work_undone", condition=models.Q(done_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.func} ({'done' if self.done_at else 'waiting'})"
