"""Fixtures for the payment tests: a local Stripe over real HTTP, self-signed webhook
events, and a resident's card subscription paid through it.

`localstripe` (PyPI) serves PaymentIntents, charges, refunds, balance
transactions and events in memory. The session fixture `localstripe` starts it
on a free port, and `stripe_on` points our settings (and so the real `stripe`
client behind `investments.payments.stripe_client`) at it. No internet needed.

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
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there

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


@pytest.fixture(scope="session")
def localstripe():
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


@pytest.fixture
def stripe_on(settings, localstripe):
    """Card payments switched on, against localstripe."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe
    return localstripe


def _fake_stripe(base: str) -> stripe.StripeClient:
    """A client of our own for what the browser or Stripe's dashboard would do (not our code's wrapper)."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": base}, max_network_retries=0)


def _plain(obj: Any) -> dict[str, Any]:
    return json.loads(str(obj))


def _pay_with_test_card(base: str, payment_intent_id: str, card: str = "pm_card_visa") -> dict[str, Any]:
    """What Stripe.js does in the browser: attach a (test) card and confirm. Returns the PaymentIntent."""
    client = _fake_stripe(base)
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": card})
    return _plain(client.v1.payment_intents.confirm(payment_intent_id))


def _events_from_stripe(base: str, event_type: str, payment_intent_id: str) -> list[dict[str, Any]]:
    """The events localstripe made for one PaymentIntent, oldest first."""
    # All pages: the server lives for the session, and it lists oldest first.
    listed = _fake_stripe(base).v1.events.list(params={"type": event_type, "limit": 100})
    found = [_plain(event) for event in listed.auto_paging_iter()]
    found = [event for event in found if event["data"]["object"].get("id") == payment_intent_id]
    return sorted(found, key=lambda event: event["created"])


def _signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None):
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


def _post_event(client, payload: dict[str, Any] | bytes, **signing) -> Any:
    """POST an event to our webhook as Stripe would: the exact bytes that were signed."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/api/v1/payments/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signature(body, **signing),
    )


@pytest.fixture
def stripe_publishable_key() -> str:
    """The publishable key `stripe_on` sets."""
    return PUBLISHABLE_KEY


@pytest.fixture
def stripe_webhook_secret() -> str:
    """The webhook signing secret `stripe_on` sets, and `stripe_signature` signs with by default."""
    return WEBHOOK_SECRET


@pytest.fixture
def stripe_unreachable_url() -> str:
    """A Stripe API base where nothing answers, for Stripe being down."""
    return UNREACHABLE


@pytest.fixture
def fake_stripe():
    """fake_stripe(base) -> a StripeClient of our own against localstripe at `base`."""
    return _fake_stripe


@pytest.fixture
def stripe_to_dict():
    """stripe_to_dict(stripe_object) -> the object as plain JSON data."""
    return _plain


@pytest.fixture
def pay_with_test_card():
    """pay_with_test_card(base, payment_intent_id, card="pm_card_visa") -> the confirmed PaymentIntent."""
    return _pay_with_test_card


@pytest.fixture
def events_from_stripe():
    """events_from_stripe(base, event_type, payment_intent_id) -> its events at localstripe, oldest first."""
    return _events_from_stripe


@pytest.fixture
def stripe_signature():
    """stripe_signature(payload, *, secret=WEBHOOK_SECRET, timestamp=None) -> a Stripe-Signature header."""
    return _signature


@pytest.fixture
def stripe_event():
    """stripe_event(event_type, obj, *, event_id=None, created=None) -> an event as Stripe would send it."""
    return _event


@pytest.fixture
def post_stripe_event():
    """post_stripe_event(client, payload, **signing) -> our webhook's answer to a signed event."""
    return _post_event


@pytest.fixture
def card_subscription(subscribe):
    """card_subscription(resident, issue, amount="250.00", key=None) -> the new subscription's JSON."""

    def subscribe_by_card(resident, issue, amount="250.00", key=None) -> dict:
        response = subscribe(resident, issue, amount, method="card", key=key)
        assert response.status_code == 201, response.json()
        return response.json()

    return subscribe_by_card


@pytest.fixture
def pay_by_card(api_client_for):
    """pay_by_card(base, subscription) -> our webhook's answer once the resident paid in the browser
    and Stripe told us."""

    def pay(base: str, sub: dict) -> dict:
        _pay_with_test_card(base, sub["payment"]["payment_intent"])
        (succeeded,) = _events_from_stripe(base, "payment_intent.succeeded", sub["payment"]["payment_intent"])
        response = _post_event(api_client_for(None), succeeded)
        assert response.status_code == 200, response.json()
        return response.json()

    return pay
