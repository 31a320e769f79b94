"""The one door to Stripe: every call to Stripe's API goes through this module.

Why one wrapper:
- one configured client (`STRIPE_SECRET_KEY`, and `STRIPE_API_BASE` so tests
  and staging point the real `stripe` library at a local fake such as
  localstripe), with a short timeout and a couple of network retries;
- idempotency keys derived from our own row ids, never random ones, so a
  retried request (ours or the library's) cannot create a second
  PaymentIntent or a second refund: `pi:<subscription id>:<amount in pence>`
  and `refund:<refund id>`;
- Stripe's exceptions become our `ServiceError`s with our own codes, so a
  resident sees a clear sentence and the API never answers 500 because Stripe
  is down: `card_declined` (402), `payment_provider_refused` (422),
  `payment_provider_conflict` (409), `payment_provider_unavailable` (503).
  The Stripe error itself is logged, with Stripe's request id, for us.

Card numbers never pass through here: the resident's browser confirms the
PaymentIntent with Stripe.js using its client secret.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import stripe
from django.conf import settings
from rest_framework import status

from bondplatform.errors import BadInput, ServiceError
from bondplatform.parsers import JSON_MAX_DEPTH, json_too_deep

logger = logging.getLogger(__name__)

# A resident's request waits on these calls: fail fast rather than hang.
TIMEOUT_SECONDS = 15
# The library retries connection errors and 409/429/5xx with the same
# idempotency key, so a retry is safe.
NETWORK_RETRIES = 2


class PaymentProviderUnavailable(ServiceError):
    """Stripe could not be reached or refused our credentials: try again later (or pay by bank)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "payment_provider_unavailable"


class CardDeclined(ServiceError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    code = "card_declined"


class PaymentProviderRefused(ServiceError):
    """Stripe understood the request and said no (e.g. refunding more than was charged)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "payment_provider_refused"


class PaymentProviderConflict(ServiceError):
    """Stripe saw one of our idempotency keys before with different parameters."""

    status_code = status.HTTP_409_CONFLICT
    code = "payment_provider_conflict"


class InvalidSignature(BadInput):
    code = "invalid_signature"


_UNAVAILABLE = (
    "Card payments are not available just now. Please try again in a few minutes, or pay by bank transfer."
)


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    if not is_configured():
        raise PaymentProviderUnavailable(_UNAVAILABLE)
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    extra: dict[str, Any] = {"base_addresses": {"api": api_base.rstrip("/")}} if api_base else {}
    return stripe.StripeClient(
        api_key,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=NETWORK_RETRIES,
        **extra,
    )


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    """Run one Stripe call; turn its errors into ours (and log what Stripe said)."""
    try:
        yield
    except stripe.CardError as exc:
        logger.info("Stripe declined a card while trying to %s: %s (%s)", action, exc.code, exc.request_id)
        raise CardDeclined(
            exc.user_message or "Your card was declined. Please try another card or pay by bank transfer.",
            extra={"decline_code": getattr(exc, "code", None) or "card_declined"},
        ) from exc
    except stripe.IdempotencyError as exc:
        logger.error("Stripe idempotency conflict while trying to %s: %s", action, exc)
        raise PaymentProviderConflict(
            "The payment provider has seen this request before with different details.",
        ) from exc
    except stripe.InvalidRequestError as exc:
        logger.error("Stripe refused to %s: %s (%s)", action, exc, exc.request_id)
        raise PaymentProviderRefused(
            f"The payment provider refused to {action}.", extra={"provider_code": exc.code or ""}
        ) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Our configuration, not the resident's fault: say so in the log only.
        logger.error("Stripe rejected our credentials while trying to %s: %s", action, exc)
        raise PaymentProviderUnavailable(_UNAVAILABLE) from exc
    except stripe.StripeError as exc:
        # APIConnectionError, RateLimitError, APIError and anything newer.
        logger.warning("Stripe unavailable while trying to %s: %r", action, exc)
        raise PaymentProviderUnavailable(_UNAVAILABLE) from exc


def payment_intent_key(*, subscription_id: int, amount_pence: int) -> str:
    return f"pi:{subscription_id}:{amount_pence}"


def refund_key(*, refund_id: int) -> str:
    return f"refund:{refund_id}"


def payment_intent_create(
    *, subscription_id: int, issue_id: int, amount_pence: int, currency: str
) -> stripe.PaymentIntent:
    """A PaymentIntent for one subscription, for exactly its amount (in minor units)."""
    with _translated("set up the card payment"):
        return client().v1.payment_intents.create(
            params={
                "amount": amount_pence,
                "currency": currency.lower(),
                # Cards (and wallets that carry cards); Stripe.js collects the details.
                "payment_method_types": ["card"],
                "metadata": {"subscription": str(subscription_id), "issue": str(issue_id)},
            },
            options={
                "idempotency_key": payment_intent_key(
                    subscription_id=subscription_id, amount_pence=amount_pence
                )
            },
        )


def payment_intent_retrieve(payment_intent_id: str) -> stripe.PaymentIntent:
    with _translated("look up the card payment"):
        return client().v1.payment_intents.retrieve(payment_intent_id)


def payment_intent_cancel(*, payment_intent_id: str, subscription_id: int) -> stripe.PaymentIntent:
    """No one may pay an ended subscription: Stripe refuses to confirm a cancelled intent."""
    with _translated("cancel the card payment"):
        return client().v1.payment_intents.cancel(
            payment_intent_id,
            options={"idempotency_key": f"pi-cancel:{subscription_id}"},
        )


def refund_create(
    *, refund_id: int, subscription_id: int, payment_intent_id: str, amount_pence: int
) -> stripe.Refund:
    with _translated("refund the card payment"):
        return client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": amount_pence,
                # How a refund event finds its way back to our Refund row.
                "metadata": {"refund": str(refund_id), "subscription": str(subscription_id)},
            },
            options={"idempotency_key": refund_key(refund_id=refund_id)},
        )


def balance_transactions() -> Iterator[dict[str, Any]]:
    """Every balance transaction on the account, newest first, with its source (charge, refund) expanded."""
    with _translated("list balance transactions"):
        page = client().v1.balance_transactions.list(params={"limit": 100, "expand": ["data.source"]})
        for transaction in page.auto_paging_iter():
            yield _plain(transaction)


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain JSON data (dicts, lists, strings, numbers)."""
    return json.loads(str(obj))


# How far ahead of our clock a webhook's signed timestamp may be (clocks drift);
# how old it may be is Stripe's own tolerance, five minutes, against replays.
WEBHOOK_CLOCK_SKEW_SECONDS = 5 * 60
WEBHOOK_TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE


def webhook_event(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify a webhook delivery against `STRIPE_WEBHOOK_SECRET` and return the event as plain data.

    Refused (400 `invalid_signature`): no secret configured, no or malformed
    header, a signature made with another secret or over other bytes (a body
    re-serialised on the way counts as other bytes), or a signed timestamp
    more than five minutes old (a replay) or more than five minutes ahead of
    our clock (a delivery signed to be replayed later). A signed body that is
    not an event, not JSON, or JSON nested more than `JSON_MAX_DEPTH` deep is
    400 `malformed_request`: the body is judged before it is parsed."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("A Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set: refused.")
        raise InvalidSignature("The Stripe signature could not be verified.")
    if not signature:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("The event is not UTF-8 JSON.", code="malformed_request") from exc
    try:
        # The signature alone (construct_event would parse the body before we could bound it).
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature("The Stripe signature could not be verified.") from exc
    if _signed_at(signature) > time.time() + WEBHOOK_CLOCK_SKEW_SECONDS:
        raise InvalidSignature("The Stripe signature is dated in the future.")
    if json_too_deep(payload):
        raise BadInput(
            f"The event is nested more than {JSON_MAX_DEPTH} deep: no Stripe event is.",
            code="malformed_request",
        )
    try:
        event = json.loads(text)
    except ValueError as exc:  # signed, but not JSON
        raise BadInput("The event is not valid JSON.", code="malformed_request") from exc
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and 0 < event["created"] < 10**11  # a Unix time, not a number that breaks a datetime
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise BadInput("The event lacks an id, type, created time or data object.", code="malformed_request")
    return event


def _signed_at(signature: str) -> int:
    """The `t=` of a Stripe-Signature header that has verified (the one Stripe's check used)."""
    for part in signature.split(","):
        key, _, value = part.partition("=")
        if key == "t":
            return int(value.split("=")[0])  # as Stripe's verify_header reads it
    raise InvalidSignature("The Stripe-Signature header has no timestamp.")
