"""The Stripe webhook inbox.

Invariants:
- every verified event is stored (once: `event_id` is unique) before anything
  is done about it, so a crash mid-way loses nothing and a redelivery finds it;
- an event is handled by one worker at a time: a worker claims it with one
  conditional UPDATE (`claimed_at`), and a claim left by a crashed worker
  lapses after a few minutes;
- `processed_at` is set once, with the `outcome`; events still waiting for
  an earlier one (a refund whose payment we have not seen yet) stay
  unprocessed with outcome `deferred` and are handled when it arrives.

Ledger effects do not rely on the inbox alone: receipts are keyed by the
PaymentIntent (`stripe:<pi id>`), refunds by their Stripe id, so the same
payment announced twice under two event ids still posts once.

`StatementLineClaim`: a bank statement line that an officer had already
recorded by hand (`investments.payments.bank_statements`). It is a record,
like the ledger: the database refuses UPDATE and DELETE of its rows.

Imported by `investments.models`, so these are models of the `investments` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StripeEventOutcome(models.TextChoices):
    PROCESSED = "processed", "Processed: our records changed"
    DUPLICATE = "duplicate", "Already recorded (the same payment or refund under another event)"
    STALE = "stale", "Arrived after a later state; changes nothing"
    IGNORED = "ignored", "A type we do not act on"
    DEFERRED = "deferred", "Waiting for an earlier event"
    UNMATCHED = "unmatched", "Not about any subscription or refund of ours"
    NEEDS_REVIEW = "needs_review", "Not applied: a person must look"
    FAILED = "failed", "Handling failed; retried on the next delivery"


class StripeEvent(models.Model):
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    # The id of `data.object`, and the PaymentIntent it concerns (if any), to find related events.
    object_id = models.CharField(max_length=255, blank=True)
    payment_intent = models.CharField(max_length=255, blank=True)
    stripe_created_at = models.DateTimeField()
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=StripeEventOutcome.choices, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["stripe_created_at", "id"]
        indexes = [
            models.Index(fields=["payment_intent", "outcome"], name="stripe_event_pi_outcome"),
            models.Index(fields=["outcome", "received_at"], name="stripe_event_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.outcome or 'new'})"


class StatementLineClaim(models.Model):
    """A bank statement line that is a receipt an officer recorded by hand: the line claims it.

    `key` is the line's key (`statement:<issuer>:<digest>`, as a recorded line's
    receipt would have had), so the line is claimed or recorded once, never
    both, however often the statement is uploaded; `receipt` is unique, so one
    hand-recorded receipt answers for one line only."""

    key = models.CharField(max_length=200, unique=True)
    receipt = models.OneToOneField(
        "investments.Receipt", on_delete=models.PROTECT, related_name="statement_claim"
    )
    line_date = models.DateField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    claimed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Statement line of {self.line_date} claims receipt {self.receipt_id}"
