"""Stripe: card payments through a PaymentIntent per subscription.

- `prepare` (after the subscription is committed) creates the PaymentIntent
  for the subscription's amount and returns its id and client secret, which
  `investments.payments.card.payment_prepare` keeps. If Stripe cannot be
  reached, `prepare` raises and that service abandons the subscription at
  once (its place in the issue released, its Idempotency-Key freed for a
  retry); the resident is told to try again or pay by bank transfer: no
  subscription is left holding capacity without a way to pay it. The client
  secret never left our server, so a PaymentIntent Stripe may have made
  behind a timeout cannot be paid.
- The resident's browser confirms the PaymentIntent with Stripe.js; card data
  never reaches us. Money is recorded when `payment_intent.succeeded` arrives
  (see `investments.payments.webhooks`).
- Refunds go back to the card at once, with an idempotency key per Refund row.

A provider: it calls Stripe through `stripe_client` and changes none of our
records; the payment services act on what it returns or raises.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from bondplatform.errors import ServiceError
from investments import accounts
from investments.models import SubscriptionStatus
from investments.payments import stripe_client
from investments.payments.base import PaymentProvider, PreparedPayment, RefundOutcome

if TYPE_CHECKING:
    from investments.models import Refund, Subscription

logger = logging.getLogger(__name__)


class StripeProvider(PaymentProvider):
    name = "stripe"
    clearing_account = accounts.STRIPE_CLEARING

    def is_available(self) -> bool:
        return stripe_client.is_configured()

    def prepare(self, subscription: Subscription) -> PreparedPayment:
        # The idempotency key is the subscription and its amount: asked twice, Stripe
        # returns the same PaymentIntent. Failures raise (stripe_client's errors).
        intent = stripe_client.payment_intent_create(
            subscription_id=subscription.pk,
            issue_id=subscription.issue_id,
            amount_pence=subscription.amount_pence,
            currency=subscription.issue.currency,
        )
        return PreparedPayment(provider_payment_id=intent.id, client_secret=intent.client_secret or "")

    def abandon(self, subscription: Subscription) -> None:
        if not subscription.provider_payment_id:
            return
        try:
            stripe_client.payment_intent_cancel(
                payment_intent_id=subscription.provider_payment_id, subscription_id=subscription.pk
            )
        except ServiceError as failure:
            # Not fatal: a payment that still arrives is recorded and refunded as a late payment.
            logger.warning(
                "Could not cancel PaymentIntent %s of ended subscription %s: %s",
                subscription.provider_payment_id,
                subscription.pk,
                failure.detail,
            )

    def instructions(self, subscription: Subscription) -> dict[str, Any]:
        awaiting = subscription.status == SubscriptionStatus.PENDING_PAYMENT
        return {
            "provider": self.name,
            "payment_intent": subscription.provider_payment_id,
            # Only while there is something to pay: the secret lets its holder confirm the payment.
            "client_secret": (subscription.provider_client_secret or None) if awaiting else None,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        }

    def refund(self, refund: Refund) -> RefundOutcome:
        subscription = refund.subscription
        if not subscription.provider_payment_id:
            raise stripe_client.PaymentProviderRefused(
                "There is no card payment to refund for this subscription.", code="no_card_payment"
            )
        made = stripe_client.refund_create(
            refund_id=refund.pk,
            subscription_id=subscription.pk,
            payment_intent_id=subscription.provider_payment_id,
            amount_pence=refund.amount_pence,
        )
        if made.status in ("failed", "canceled"):
            # Stripe took the request but will not send the money: leave it owed and visible.
            return RefundOutcome(settled=False, provider_refund_id=None)
        return RefundOutcome(settled=True, provider_refund_id=made.id)
