"""Stripe webhook events: stored first, then handled once, in any order.

`stripe_event_receive` is called with an event whose signature has been
verified (`investments.payments.stripe_client.webhook_event`). It stores the
event in the inbox (`StripeEvent`, unique by event id) and then handles it:

- a worker claims the event with one conditional UPDATE, so ten deliveries of
  one event at once are handled by one of them (the others answer 200 and
  stop); a worker that fails releases its claim, so Stripe's retry handles it;
- every effect is idempotent on its own as well: a receipt is keyed by the
  PaymentIntent (`stripe:<pi id>`), a refund by its Stripe id, so the same
  payment announced again under a new event id posts nothing twice.

Order does not matter:
- `payment_intent.payment_failed` after the payment has succeeded (or after
  the subscription ended) changes nothing: the paid state stands;
- a refund made at Stripe that arrives before its payment is recorded waits
  (`deferred`) and is applied as soon as `payment_intent.succeeded` is;
- unknown event types are kept and acknowledged, and otherwise ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bondplatform.actors import SYSTEM
from bondplatform.audit import audit_record
from bondplatform.errors import Conflict, ServiceError
from investments.models import (
    Receipt,
    Refund,
    RefundStatus,
    StripeEvent,
    StripeEventOutcome,
    Subscription,
    SubscriptionStatus,
)
from investments.payments.card import (
    STRIPE,
    NeedsReview,
    card_refund_observed_externally,
    stripe_fee_record,
)
from investments.payments.receipts import receipt_record
from investments.payments.refunds import refund_confirm_sent

logger = logging.getLogger(__name__)

Outcome = StripeEventOutcome
# A claim older than this belongs to a worker that died: another may take the event.
CLAIM_LEASE = dt.timedelta(minutes=5)


def receipt_key(payment_intent_id: str) -> str:
    """One receipt per PaymentIntent, whichever event announces it."""
    return f"stripe:{payment_intent_id}"


def stripe_event_receive(*, event: dict[str, Any]) -> StripeEvent:
    """Store a verified event (once), then handle it unless it was handled before."""
    obj = event["data"]["object"]
    record, _ = StripeEvent.objects.get_or_create(
        event_id=event["id"][:255],
        defaults={
            "type": event["type"][:100],
            "livemode": bool(event.get("livemode")),
            "object_id": str(obj.get("id") or "")[:255],
            "payment_intent": _payment_intent_of(event["type"], obj)[:255],
            "stripe_created_at": dt.datetime.fromtimestamp(event["created"], tz=dt.UTC),
            "payload": event,
        },
    )
    return stripe_event_process(event_id=record.event_id)


def stripe_event_process(*, event_id: str) -> StripeEvent:
    """Handle a stored event if nobody has (and nobody is doing so now)."""
    now = timezone.now()
    claimed = (
        StripeEvent.objects.filter(event_id=event_id, processed_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    record = StripeEvent.objects.get(event_id=event_id)
    if not claimed:
        return record  # handled already, or being handled by another worker right now
    try:
        outcome, detail = _handle(record)
    except Exception as exc:
        StripeEvent.objects.filter(pk=record.pk).update(
            claimed_at=None, outcome=Outcome.FAILED, detail=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    StripeEvent.objects.filter(pk=record.pk).update(
        claimed_at=None,
        processed_at=None if outcome == Outcome.DEFERRED else timezone.now(),
        outcome=outcome,
        detail=detail[:2000],
    )
    record.refresh_from_db()
    logger.info("Stripe event %s (%s): %s. %s", record.event_id, record.type, outcome, detail)
    if record.type == "payment_intent.succeeded" and outcome in (Outcome.PROCESSED, Outcome.DUPLICATE):
        _process_deferred(record.payment_intent)
    return record


def stripe_events_process_pending() -> int:
    """Retry events left unhandled (failed, or claimed by a worker that died); for a periodic task."""
    stale = timezone.now() - CLAIM_LEASE
    waiting = StripeEvent.objects.filter(processed_at__isnull=True, received_at__lt=stale).exclude(
        outcome=Outcome.DEFERRED
    )
    done = 0
    for event_id in waiting.order_by("stripe_created_at", "id").values_list("event_id", flat=True):
        try:
            stripe_event_process(event_id=event_id)
            done += 1
        except Exception:
            logger.exception("Stripe event %s failed again", event_id)
    return done


def _process_deferred(payment_intent_id: str) -> None:
    if not payment_intent_id:
        return
    waiting = StripeEvent.objects.filter(
        payment_intent=payment_intent_id, outcome=Outcome.DEFERRED, processed_at__isnull=True
    )
    for event_id in waiting.order_by("stripe_created_at", "id").values_list("event_id", flat=True):
        stripe_event_process(event_id=event_id)


def _payment_intent_of(event_type: str, obj: dict[str, Any]) -> str:
    if event_type.startswith("payment_intent."):
        return str(obj.get("id") or "")
    value = obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    if not value and isinstance(obj.get("charge"), dict):
        value = obj["charge"].get("payment_intent")
    return value if isinstance(value, str) else ""


Handled = tuple[str, str]


def _handle(record: StripeEvent) -> Handled:
    handler = _HANDLERS.get(record.type)
    if handler is None:
        return Outcome.IGNORED, "Not a type we act on."
    try:
        return handler(record, record.payload["data"]["object"])
    except NeedsReview as exc:
        return Outcome.NEEDS_REVIEW, str(exc)
    except ServiceError as exc:
        return Outcome.NEEDS_REVIEW, f"{exc.code}: {exc.detail}"


def _subscription_for(payment_intent_id: Any) -> Subscription | None:
    if not isinstance(payment_intent_id, str) or not payment_intent_id:
        return None
    return (
        Subscription.objects.select_related("issue__issuer")
        .filter(provider=STRIPE, provider_payment_id=payment_intent_id)
        .first()
    )


def _payment_succeeded(record: StripeEvent, intent: dict[str, Any]) -> Handled:
    subscription = _subscription_for(intent.get("id"))
    if subscription is None:
        return Outcome.UNMATCHED, "No subscription of ours has this PaymentIntent."
    claimed_for = (intent.get("metadata") or {}).get("subscription")
    if claimed_for not in (None, str(subscription.pk)):
        raise NeedsReview(
            f"The PaymentIntent's metadata names subscription {claimed_for}, not {subscription.pk}."
        )
    if str(intent.get("currency", "")).upper() != subscription.issue.currency:
        raise NeedsReview(
            f"Paid in {intent.get('currency')!r}; the issue is in {subscription.issue.currency}."
        )
    if intent.get("status") not in (None, "succeeded"):
        raise NeedsReview(f"The PaymentIntent is {intent.get('status')!r}, not succeeded.")
    # `amount_received` is what was captured; a fake without it has captured the whole amount.
    amount = intent.get("amount_received")
    if amount is None:
        amount = intent.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise NeedsReview("The event does not say how much was received.")
    key = receipt_key(intent["id"])
    existing = Receipt.objects.filter(idempotency_key=key).first()
    if existing is None:
        received_on = timezone.localdate(record.stripe_created_at)
        try:
            receipt = receipt_record(
                actor=SYSTEM,
                subscription_id=subscription.pk,
                amount_pence=amount,
                reference=subscription.reference,
                received_on=received_on,
                idempotency_key=key,
                provider=STRIPE,
            )
        except Conflict:
            # The same payment, announced by another event at the same moment, won the race.
            existing = Receipt.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
        else:
            _record_fee(subscription, intent, received_on)
            subscription.refresh_from_db(fields=["status", "received_pence"])
            return (
                Outcome.PROCESSED,
                f"Receipt {receipt.pk}; subscription {subscription.pk} is {subscription.status}.",
            )
    if existing.amount_pence != amount:
        raise NeedsReview(
            f"Receipt {existing.pk} records {existing.amount_pence}p; this event says {amount}p."
        )
    return Outcome.DUPLICATE, f"Receipt {existing.pk} already records this payment."


def _record_fee(subscription: Subscription, intent: dict[str, Any], charged_on: dt.date) -> None:
    """Stripe's fee, when the event carries the charge's balance transaction expanded."""
    charge = intent.get("latest_charge")
    balance = charge.get("balance_transaction") if isinstance(charge, dict) else None
    if (
        isinstance(balance, dict)
        and isinstance(balance.get("fee"), int)
        and isinstance(balance.get("id"), str)
    ):
        stripe_fee_record(
            subscription=subscription,
            balance_transaction_id=balance["id"],
            fee_pence=balance["fee"],
            charged_on=charged_on,
        )


def _payment_failed(record: StripeEvent, intent: dict[str, Any]) -> Handled:
    subscription = _subscription_for(intent.get("id"))
    if subscription is None:
        return Outcome.UNMATCHED, "No subscription of ours has this PaymentIntent."
    paid = Receipt.objects.filter(idempotency_key=receipt_key(intent["id"])).exists()
    if paid or subscription.status != SubscriptionStatus.PENDING_PAYMENT:
        return (
            Outcome.STALE,
            f"Subscription {subscription.pk} is {subscription.status}: a failed attempt changes nothing.",
        )
    error = intent.get("last_payment_error") or {}
    code = str(error.get("decline_code") or error.get("code") or "unknown")[:100]
    with transaction.atomic(durable=True):
        audit_record(
            actor=SYSTEM,
            issuer=subscription.issue.issuer,
            action="subscription.card_payment_failed",
            obj=subscription,
            data={"event": record.event_id, "code": code, "message": str(error.get("message") or "")[:500]},
        )
    return (
        Outcome.PROCESSED,
        f"Card payment failed ({code}); subscription {subscription.pk} stays pending_payment.",
    )


def _refund_event(record: StripeEvent, refund: dict[str, Any]) -> Handled:
    return _refund_seen(refund, record.payment_intent)


def _charge_refunded(record: StripeEvent, charge: dict[str, Any]) -> Handled:
    refunds = (charge.get("refunds") or {}).get("data") if isinstance(charge.get("refunds"), dict) else None
    if not refunds:
        # Newer API versions leave the refunds out of the charge; refund.* events carry them.
        return Outcome.IGNORED, "No refunds in the charge: the refund.* events carry them."
    outcomes = [_refund_seen(refund, record.payment_intent) for refund in refunds if isinstance(refund, dict)]
    outcomes.sort(key=lambda handled: _PRIORITY.index(Outcome(handled[0])))
    return outcomes[0][0], " ".join(detail for _, detail in outcomes)


def _refund_seen(refund: dict[str, Any], payment_intent_id: str) -> Handled:
    refund_id = refund.get("id")
    if not isinstance(refund_id, str) or not refund_id:
        raise NeedsReview("A refund without an id.")
    state = refund.get("status")
    amount = refund.get("amount")
    ours = Refund.objects.select_related("subscription").filter(provider_refund_id=refund_id).first()
    if ours is None:
        our_id = str((refund.get("metadata") or {}).get("refund") or "")
        if our_id.isdigit():
            ours = (
                Refund.objects.select_related("subscription").filter(pk=int(our_id), provider=STRIPE).first()
            )
    if ours is not None:
        if payment_intent_id and ours.subscription.provider_payment_id != payment_intent_id:
            raise NeedsReview(f"Refund {refund_id} names our refund {ours.pk}, of another payment.")
        if state in ("failed", "canceled"):
            raise NeedsReview(
                f"Stripe says refund {refund_id} {state}: refund {ours.pk} has not reached the resident."
            )
        if amount != ours.amount_pence:
            raise NeedsReview(f"Stripe refunded {amount}p for our refund {ours.pk} of {ours.amount_pence}p.")
        if ours.status == RefundStatus.SENT:
            return Outcome.DUPLICATE, f"Refund {ours.pk} is already settled."
        refund_confirm_sent(refund_id=ours.pk, provider_refund_id=refund_id)
        return Outcome.PROCESSED, f"Refund {ours.pk} settled by Stripe ({refund_id})."
    # A refund we did not ask for (Stripe's dashboard, a dispute tool).
    if state not in ("succeeded", "pending"):
        return Outcome.IGNORED, f"A refund at Stripe in state {state!r}: nothing has left yet."
    subscription = _subscription_for(payment_intent_id)
    if subscription is None:
        return Outcome.UNMATCHED, "The refunded payment is not one of our subscriptions'."
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise NeedsReview(f"Refund {refund_id} does not say how much was refunded.")
    if not Receipt.objects.filter(idempotency_key=receipt_key(payment_intent_id)).exists():
        return (
            Outcome.DEFERRED,
            "The refund arrived before its payment: it waits for payment_intent.succeeded.",
        )
    refunded_on = timezone.localdate(
        dt.datetime.fromtimestamp(refund["created"], tz=dt.UTC)
        if isinstance(refund.get("created"), int)
        else timezone.now()
    )
    made = card_refund_observed_externally(
        subscription_id=subscription.pk,
        provider_refund_id=refund_id,
        amount_pence=amount,
        refunded_on=refunded_on,
    )
    return (
        Outcome.PROCESSED,
        f"Refund made at Stripe recorded as refund {made.pk}; subscription {subscription.pk} refunded.",
    )


# When one event holds several refunds, the most pressing outcome speaks for it.
_PRIORITY = [
    Outcome.FAILED,
    Outcome.DEFERRED,
    Outcome.NEEDS_REVIEW,
    Outcome.PROCESSED,
    Outcome.UNMATCHED,
    Outcome.DUPLICATE,
    Outcome.STALE,
    Outcome.IGNORED,
]

_HANDLERS: dict[str, Callable[[StripeEvent, dict[str, Any]], Handled]] = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "charge.refund.updated": _refund_event,
    "charge.refunded": _charge_refunded,
}
