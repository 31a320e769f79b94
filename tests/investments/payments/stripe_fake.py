"""A local Stripe for the tests: localstripe over real HTTP, and self-signed webhook events.

`localstripe` (PyPI) serves PaymentIntents, charges, refunds, balance
transactions and events in memory. The session fixture starts it on a free
port, and `stripe_on` points our settings (and so the real `stripe` client
behind `investments.payments.stripe_client`) at it. No internet needed.
Test modules import `localstripe_fixture` and `stripe_on_fixture`; the
fixtures are named `localstripe` and `stripe_on`.

What localstripe does not do, and how the tests cope:
- it ignores idempotency keys (the same key makes a second object), so our
  own idempotency is tested against our records;
- it cannot confirm a PaymentIntent with a payment method passed to
  `confirm`, so tests set the test card first and then confirm, playing the
  part of Stripe.js in the resident's browser;
- it makes no refund events and cannot reach a Django test client, so tests
  build the events from objects fetched from it and sign them themselves;
- its PaymentIntents have no `amount_received`: the webhook falls back to
  `amount` for a succeeded PaymentIntent.
localstripe writes its whole store to /tmp/localstripe.pickle after every
change; the fixture turns that off so parallel runs do not share a file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
import stripe

SECRET_KEY = "sk_test_mutualbonds_localstripe"
PUBLISHABLE_KEY = "pk_test_mutualbonds_localstripe"
WEBHOOK_SECRET = "whsec_test_mutualbonds"

_LAUNCH = (
    "import sys, localstripe.resources as r; "
    "r.Store.dump_to_disk = lambda self: None; "
    "from localstripe import server; "
    "sys.argv = ['localstripe', '--port', sys.argv[1], '--from-scratch']; "
    "server.start()"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session", name="localstripe")
def localstripe_fixture():
    """The base URL of a localstripe server that lives for the test session."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(
                    f"localstripe did not start: {process.stderr.read().decode()[-2000:]}"
                ) from None
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("localstripe did not listen within 20 s") from None
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(name="stripe_on")
def stripe_on_fixture(settings, localstripe):
    """Card payments switched on, against localstripe."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe
    return localstripe


def fake_stripe(base: str) -> stripe.StripeClient:
    """A client of our own for what the browser or Stripe's dashboard would do (not our code's wrapper)."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": base}, max_network_retries=0)


def plain(obj: Any) -> dict[str, Any]:
    return json.loads(str(obj))


def pay_with_test_card(base: str, payment_intent_id: str, card: str = "pm_card_visa") -> dict[str, Any]:
    """What Stripe.js does in the browser: attach a (test) card and confirm. Returns the PaymentIntent."""
    client = fake_stripe(base)
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": card})
    return plain(client.v1.payment_intents.confirm(payment_intent_id))


def events_from_stripe(base: str, event_type: str, payment_intent_id: str) -> list[dict[str, Any]]:
    """The events localstripe made for one PaymentIntent, oldest first."""
    listed = fake_stripe(base).v1.events.list(params={"type": event_type, "limit": 100})
    found = [plain(event) for event in listed.data]
    found = [event for event in found if event["data"]["object"].get("id") == payment_intent_id]
    return sorted(found, key=lambda event: event["created"])


def signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None):
    created = int(time.time()) if created is None else created
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "api_version": "2026-02-25.clover",
        "data": {"object": obj},
    }


def post_event(client, payload: dict[str, Any] | bytes, **signing) -> Any:
    """POST an event to our webhook as Stripe would: the exact bytes that were signed."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/api/v1/payments/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, **signing),
    )
