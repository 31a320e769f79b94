"""Card payments (Stripe): the state changes that only card payments have.

- the payment is set up after the subscription is committed (only card
  payments need it: a bank transfer's reference is made with the subscription),
  and a subscription whose PaymentIntent could not be created is abandoned;
- a refund made at Stripe rather than by us (the dashboard) is recorded;
- Stripe's fee on a charge is posted on its own;
- refunds Stripe could not take at the time are retried.

Ledger entries (per issuer, integer pence):
- Stripe fee:            Dr stripe_fees          Cr stripe_clearing
- refund made at Stripe: Dr subscriptions_held:<issue>  Cr refunds_payable   (owed)
                         Dr refunds_payable      Cr stripe_clearing   (sent)
Lock order as everywhere: issue, then subscription, then (in entry_post) ledger head.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from bondplatform.actors import SYSTEM
from bondplatform.audit import audit_record
from bondplatform.errors import ServiceError
from compliance.services import refusals_kept
from investments import accounts, selectors
from investments.locks import capacity_release, subscription_lock
from investments.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    Refund,
    RefundReason,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from investments.payments.providers import provider_named
from investments.payments.refunds import refund_judge, refund_settle_with_provider
from investments.payments.stripe import StripeProvider
from ledger.models import EntryKind, LedgerEntry
from ledger.services import Posting, entry_post

STRIPE = StripeProvider.name


class NeedsReview(Exception):
    """Stripe reports something we will not apply without a person (the inbox keeps it)."""


def payment_prepare(*, subscription: Subscription) -> Subscription:
    """After the subscription is committed: have its provider set up what the resident pays against.

    Runs outside any transaction (the provider may call out over the network)
    and is safe to repeat: a subscription already set up is left alone, and
    the provider returns the same payment when asked twice. If the provider
    cannot set it up, the subscription gives its place back at once
    (`subscription_abandon_unprepared`) and the provider's error is raised for
    the resident. Updates `subscription` in place and returns it."""
    if subscription.provider_payment_id:
        return subscription  # already prepared (a replayed request)
    try:
        prepared = provider_named(subscription.provider).prepare(subscription)
    except ServiceError as failure:
        subscription_abandon_unprepared(subscription_id=subscription.pk, reason=failure.code)
        subscription.refresh_from_db()
        raise
    if prepared is not None:
        # Only if nobody stored one meanwhile (a concurrent replay gets the same PaymentIntent).
        Subscription.objects.filter(pk=subscription.pk, provider_payment_id__isnull=True).update(
            provider_payment_id=prepared.provider_payment_id,
            provider_client_secret=prepared.client_secret,
        )
        subscription.refresh_from_db(fields=["provider_payment_id", "provider_client_secret"])
    return subscription


def subscription_abandon_unprepared(*, subscription_id: int, reason: str) -> Subscription:
    """Stripe could not set up the card payment: give the subscription's place back at once.

    The subscription becomes `cancelled` (nothing was paid, nothing is owed)
    and its Idempotency-Key is freed, so the resident's retry with the same
    key makes a fresh subscription instead of returning this dead one."""
    with transaction.atomic(durable=True):
        issue, subscription = subscription_lock(subscription_id)
        if (
            subscription.status != SubscriptionStatus.PENDING_PAYMENT
            or subscription.received_pence
            or subscription.provider_payment_id
        ):
            return subscription  # something happened meanwhile: not ours to undo
        capacity_release(issue_id=issue.pk, subscription=subscription)
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.ended_at = timezone.now()
        subscription.idempotency_key = None
        subscription.save(update_fields=["status", "ended_at", "idempotency_key"])
        audit_record(
            actor=SYSTEM,
            issuer=issue.issuer,
            action="subscription.payment_setup_failed",
            obj=subscription,
            data={"reason": reason, "released_pence": subscription.amount_pence},
        )
        return subscription


def stripe_fee_record(
    *, subscription: Subscription, balance_transaction_id: str, fee_pence: int, charged_on: dt.date
) -> LedgerEntry | None:
    """Post Stripe's fee on a charge as its own entry (once per balance transaction)."""
    if fee_pence <= 0:
        return None
    return entry_post(
        issuer=subscription.issue.issuer_id,
        kind=EntryKind.FEE,
        value_date=charged_on,
        description=f"Stripe fee on the card payment for subscription {subscription.pk}",
        idempotency_key=f"stripe-fee:{balance_transaction_id}",
        postings=[Posting(accounts.STRIPE_FEES, fee_pence), Posting(accounts.STRIPE_CLEARING, -fee_pence)],
    )


def card_refund_observed_externally(
    *, subscription_id: int, provider_refund_id: str, amount_pence: int, refunded_on: dt.date
) -> Refund:
    """Stripe refunded a card payment we did not ask it to refund (e.g. from the dashboard).

    Applied only when it is unambiguous: the whole of what the subscription
    holds, while the subscription is live. Then the subscription ends
    `refunded`, its place is released and the refund is booked as owed and
    sent. Anything else (a part refund, an allotted subscription) raises
    NeedsReview: the books are left alone and reconciliation shows the gap.
    The asset lock judges it as any refund (its refusal, too, leaves the books
    alone for review, and its deny decision is kept)."""
    issuer = selectors.subscription_get(subscription_id).issue.issuer
    with refusals_kept(actor=SYSTEM, issuer=issuer), transaction.atomic(durable=True):
        issue, subscription = subscription_lock(subscription_id)
        known = Refund.objects.filter(provider_refund_id=provider_refund_id).first()
        if known is not None:
            return known
        if subscription.status not in LIVE_SUBSCRIPTION_STATUSES:
            raise NeedsReview(f"Stripe refunded a payment of a subscription that is {subscription.status}.")
        if amount_pence != subscription.received_pence:
            raise NeedsReview(
                f"Stripe refunded {amount_pence}p of the {subscription.received_pence}p held: only a full refund is applied."
            )
        capacity_release(issue_id=issue.pk, subscription=subscription)
        refund = Refund.objects.create(
            subscription=subscription,
            amount_pence=amount_pence,
            reason=RefundReason.PROVIDER,
            provider=STRIPE,
            provider_refund_id=provider_refund_id,
            status=RefundStatus.SENT,
            sent_at=timezone.now(),
            idempotency_key=f"stripe-refund:{provider_refund_id}",
        )
        refund_judge(actor=SYSTEM, refund=refund)
        entry_post(
            issuer=issue.issuer,
            kind=EntryKind.SUBSCRIPTION_REFUND,
            value_date=refunded_on,
            description=f"Refund owed on subscription {subscription.pk} (refunded at Stripe)",
            idempotency_key=f"refund:{refund.pk}:owed",
            postings=[
                Posting(accounts.held_for(subscription.issue_id), amount_pence),
                Posting(accounts.REFUNDS_PAYABLE, -amount_pence),
            ],
        )
        entry_post(
            issuer=issue.issuer,
            kind=EntryKind.SUBSCRIPTION_REFUND,
            value_date=refunded_on,
            description=f"Refund {refund.pk} sent for subscription {subscription.pk}",
            idempotency_key=f"refund:{refund.pk}:sent",
            postings=[
                Posting(accounts.REFUNDS_PAYABLE, amount_pence),
                Posting(accounts.STRIPE_CLEARING, -amount_pence),
            ],
        )
        subscription.status = SubscriptionStatus.REFUNDED
        subscription.ended_at = timezone.now()
        subscription.save(update_fields=["status", "ended_at"])
        audit_record(
            actor=SYSTEM,
            issuer=issue.issuer,
            action="subscription.refunded_at_provider",
            obj=subscription,
            data={
                "refund": refund.pk,
                "provider_refund_id": provider_refund_id,
                "amount_pence": amount_pence,
            },
        )
        return refund


def card_refunds_retry_pending() -> int:
    """Ask Stripe again for card refunds it could not take at the time. Returns how many went out."""
    sent = 0
    for refund_id in Refund.objects.filter(provider=STRIPE, status=RefundStatus.PENDING).values_list(
        "pk", flat=True
    ):
        if refund_settle_with_provider(refund_id=refund_id).status == RefundStatus.SENT:
            sent += 1
    return sent
