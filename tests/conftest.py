"""Shared fixtures, for tests in more than one app: named personas, API clients, bond issues
to subscribe to and pay for (by bank transfer, or by card at a local Stripe), allotted bonds,
and bursts of concurrent calls. Fixtures that serve one app's tests live in its conftest.py.

PostgreSQL-only tests carry `@pytest.mark.postgres`. Locally on SQLite they
are skipped (and the run says so); with REQUIRE_POSTGRES=1 (CI) the whole run
fails at once if the database is not PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import stripe
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from bondplatform.errors import ServiceError
from investments.models import Holding
from investments.payments.receipts import receipt_record
from investments.services import issues as issue_services
from investments.services.subscriptions import subscription_create
from issuers.models import Issuer, RoleGrant
from ledger.models import LedgerPosting
from people.models import AccountSecurity, Profile
from people.services.tokens import auth_token_create


def _vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    if _vendor() == "postgresql":
        where = (
            f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or '5432'}, test database test_{db['NAME']}"
        )
    else:
        where = "an in-memory test database"
    return f"database: {_vendor()} ({where})"


def pytest_configure(config):
    if os.environ.get("REQUIRE_POSTGRES") == "1" and _vendor() != "postgresql":
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")


def pytest_collection_modifyitems(config, items):
    if _vendor() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        # The marker, not `item.keywords`: a parameter id such as "postgres" is a keyword too.
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(f"Tests ran on {_vendor()}.")


# --- settings for every test --------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _background_work_inline(settings):
    """Work queued for the django-q2 worker runs in the test's process, right after commit."""
    settings.BACKGROUND_INLINE = True


@pytest.fixture(autouse=True)
def _email_verification_required(settings):
    """As in production (it is off only with DEBUG on, the development default)."""
    settings.EMAIL_VERIFICATION_REQUIRED = True


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


# --- people, the API's clients, and its one error shape -----------------------------------


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *, staff: bool = False, resident: bool = True, **profile):
        user = django_user_model.objects.create_user(
            username=username, email=f"{username}@example.org", password="correct horse battery"
        )
        if staff:
            user.is_staff = user.is_superuser = True
            user.save()
        if resident:
            # Residents have confirmed their e-mail address (people.services.registration).
            AccountSecurity.objects.create(
                user=user, verified_email=user.email, email_verified_at=dt.datetime.now(dt.UTC)
            )
            Profile.objects.create(
                user=user,
                full_name=profile.get("full_name", username.title()),
                date_of_birth=profile.get("date_of_birth", dt.date(1970, 5, 17)),
                postcode=profile.get("postcode", "S1 2AB"),
            )
        return user

    return make


def _client_for(user, *, two_factor_device=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = auth_token_create(user=user, verified_device=two_factor_device)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api_client_for():
    """api_client_for(user, *, two_factor_device=None) -> an APIClient signed in as `user`.

    The client carries a fresh token, as from a sign-in that gave a code from
    `two_factor_device` (or the password alone, by default); for `None`, an anonymous client."""
    return _client_for


@pytest.fixture
def assert_error():
    """assert_error(response, status, code) -> the body of a refusal in the API's one error shape."""

    def check(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) >= {"code", "detail", "fields"}
        assert body["code"] == code, body
        return body

    return check


@pytest.fixture
def staff(make_user):
    return make_user("stella_staff", staff=True, resident=False)


@pytest.fixture
def society(db):
    return Issuer.objects.create(
        name="Sheffield Citylife Society",
        legal_form="community_benefit_society",
        registration_number="IP12345R",
        asset_lock_basis="statutory",
        max_interest_rate_percent=Decimal("5.00"),
        bank_account_name="Citylife Society Ltd",
        sort_code="60-83-01",
        account_number="20345678",
    )


@pytest.fixture
def cic(db):
    return Issuer.objects.create(
        name="Park Hill Energy CIC",
        legal_form="cic_limited_by_shares",
        registration_number="09876543",
        asset_lock_basis="cic",
        max_interest_rate_percent=Decimal("6.00"),
    )


@pytest.fixture
def officer(make_user, society):
    user = make_user("olive_officer", resident=False)
    RoleGrant.objects.create(issuer=society, user=user, role="finance_officer")
    return user


@pytest.fixture
def auditor(make_user, society):
    user = make_user("arthur_auditor", resident=False)
    RoleGrant.objects.create(issuer=society, user=user, role="auditor")
    return user


@pytest.fixture
def resident(make_user):
    return make_user("rita_resident", full_name="Rita Resident", postcode="S1 2AB")


@pytest.fixture
def outsider(make_user):
    return make_user("oscar_outsider", full_name="Oscar Outsider", postcode="M1 1AA")


# --- bond issues, subscriptions, payment by bank transfer, allotment, the books -----------


# A Citylife-style issue: five-year money-back bonds, open for a month from yesterday.
CITYLIFE_TERMS = {
    "name": "Citylife Money-Back Bond 2026",
    "description": "Five-year money-back bonds for local jobs and housing.",
    "currency": "GBP",
    "coupon_rate_percent": Decimal("0.00"),
    "term_months": 60,
    "interest_frequency": "at_maturity",
    "day_count": "act_365f",
    "min_subscription_pence": 100_00,
    "max_subscription_pence": 5_000_00,
    "min_raise_pence": 500_00,
    "max_raise_pence": 20_000_00,
    "eligible_postcode_prefixes": [],
    "cooling_off_days": 14,
    "notice_days": 90,
}


@pytest.fixture
def citylife_terms() -> dict:
    """The terms `make_issue` starts from (a copy: a test may change its own)."""
    return dict(CITYLIFE_TERMS)


def _issue(base_terms: dict, issuer, officer, *, open_it: bool = True, **overrides):
    """An issue on `base_terms` (with `overrides`), open from yesterday for a month, created and
    (unless `open_it` is false) opened by `officer` through the services."""
    now = timezone.now()
    terms = {
        **base_terms,
        "opens_at": now - dt.timedelta(days=1),
        "closes_at": now + dt.timedelta(days=30),
        **overrides,
    }
    issue = issue_services.issue_create(actor=officer, issuer=issuer, **terms)
    if open_it:
        issue = issue_services.issue_open(actor=officer, issue_id=issue.pk)
    return issue


@pytest.fixture
def make_issue():
    """make_issue(issuer, officer, *, open_it=True, **overrides) -> a bond issue on the Citylife terms,
    created (and opened) by its officer through the services."""
    return functools.partial(_issue, CITYLIFE_TERMS)


@pytest.fixture
def subscribe(api_client_for):
    """subscribe(user, issue, amount="250.00", method="bank_transfer", key=None) -> the API's answer
    to `user` subscribing (with an Idempotency-Key header if `key` is given)."""

    def post(user, issue, amount="250.00", method="bank_transfer", key=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return api_client_for(user).post(
            f"/api/v1/issues/{issue.pk}/subscriptions/",
            {"amount": amount, "payment_method": method},
            format="json",
            **headers,
        )

    return post


@pytest.fixture
def record_payment(api_client_for):
    """record_payment(officer, subscription_id, amount, reference, key="k1", received_on=None) -> the
    API's answer to the officer recording a bank transfer (received today by default)."""

    def post(officer, subscription_id, amount, reference, key="k1", received_on=None):
        return api_client_for(officer).post(
            f"/api/v1/subscriptions/{subscription_id}/record-payment/",
            {
                "amount": amount,
                "reference": reference,
                "received_on": received_on or timezone.localdate().isoformat(),
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    return post


@pytest.fixture
def pay_by_bank_transfer(api_client_for):
    """pay_by_bank_transfer(officer, subscription): the officer records the whole amount of a
    subscription (its JSON) as received today, by its reference; asserts it was recorded."""

    def pay(officer, subscription):
        response = api_client_for(officer).post(
            f"/api/v1/subscriptions/{subscription['id']}/record-payment/",
            {
                "amount": subscription["amount"],
                "reference": subscription["payment"]["reference"],
                "received_on": timezone.localdate().isoformat(),
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"pay-{subscription['id']}",
        )
        assert response.status_code in (200, 201), response.content

    return pay


@pytest.fixture
def allotted(pay_by_bank_transfer, subscribe, api_client_for, make_issue):
    """allotted(issuer, officer, resident, **terms) -> an issue of 4 % annual bonds, three years,
    allotted today to the resident (£1,000), through the API."""

    def allot(society, officer, resident, **terms):
        issue = make_issue(
            society,
            officer,
            coupon_rate_percent=Decimal("4.00"),
            term_months=36,
            interest_frequency="annual",
            **terms,
        )
        pay_by_bank_transfer(officer, subscribe(resident, issue, "1000.00").json())
        for step in ("close", "allot"):
            assert api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/{step}/").status_code == 200
        issue.refresh_from_db()
        return issue

    return allot


@pytest.fixture
def balances():
    """balances(issuer) -> the issuer's nonzero account balances, {code: signed pence} (debit positive)."""

    def read(issuer) -> dict[str, int]:
        rows = (
            LedgerPosting.objects.filter(account__issuer=issuer)
            .values_list("account__code")
            .annotate(total=Sum("amount_pence"))
            .order_by()
        )
        return {code: total for code, total in rows if total}

    return read


# --- offers as the web pages see them (tests/web/, tests/e2e/) ---------------------------

WEB_TERMS = {
    "name": "Citylife Money-Back Bond",
    "description": "Five-year bonds for the Kelham Island community kitchen and workshop.",
    "currency": "GBP",
    "coupon_rate_percent": Decimal("3.00"),
    "term_months": 60,
    "interest_frequency": "annual",
    "day_count": "act_365f",
    "min_subscription_pence": 100_00,
    "max_subscription_pence": 5_000_00,
    "min_raise_pence": 500_00,
    "max_raise_pence": 20_000_00,
    "eligible_postcode_prefixes": [],
    "cooling_off_days": 14,
    "notice_days": 90,
}


@pytest.fixture
def open_issue(db):
    """`open_issue(issuer, officer, **terms)`: an issue created and opened through the services,
    on the terms the web pages show (WEB_TERMS)."""
    return functools.partial(_issue, WEB_TERMS)


@pytest.fixture
def allotted_holding(society, officer, resident, open_issue):
    """`allotted_holding(allotted_on=None, amount_pence=1_000_00)`: the resident's paid subscription
    to an issue opened over a year ago, allotted (on `allotted_on`, default today)."""

    def make(*, allotted_on=None, amount_pence=1_000_00):
        now = timezone.now()
        issue = open_issue(society, officer, min_raise_pence=100_00, opens_at=now - dt.timedelta(days=800))
        subscription, _ = subscription_create(
            actor=resident, issue_id=issue.pk, amount_pence=amount_pence, payment_method="bank_transfer"
        )
        receipt_record(
            actor=officer,
            subscription_id=subscription.pk,
            amount_pence=amount_pence,
            reference=subscription.reference,
            received_on=subscription.created_at.date(),
            idempotency_key=f"web-{subscription.pk}",
        )
        issue_services.issue_close(actor=officer, issue_id=issue.pk)
        issue_services.issue_allot(actor=officer, issue_id=issue.pk, allotted_on=allotted_on)
        return Holding.objects.get(subscription=subscription)

    return make


# --- photos (updates to bondholders) ------------------------------------------------------


def _photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), *, exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", size, (0, 105, 92))
    image.paste((255, 255, 255), (0, 0, 8, 8))  # the top left corner white, to see which way up it is kept
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


@pytest.fixture
def photo_bytes():
    """photo_bytes(fmt="JPEG", size=(64, 48), *, exif=None) -> a small image's bytes in a format
    Pillow writes ("JPEG", "PNG", "WEBP", "GIF"...), green with a white top left corner (8 by 8)."""
    return _photo


# --- concurrency and signing ----------------------------------------------------------------


@pytest.fixture
def burst():
    """burst(calls) -> for each call, "ok" or its refusal's code: each call runs in its own thread,
    all released at once (each thread closes its own database connection)."""

    def run_all(calls: list) -> list[str]:
        barrier = threading.Barrier(len(calls))

        def run(call):
            barrier.wait()
            try:
                call()
                return "ok"
            except ServiceError as refusal:
                return refusal.code
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, calls))

    return run_all


@pytest.fixture
def burst_posts(burst):
    """burst_posts(user, url, body=None, *, key, times=20) -> the responses to `times` identical POSTs
    (JSON `body`, `Idempotency-Key: key`) by `user`, sent at once from as many threads, each with
    its own signed-in client. A response that is an error is returned like any other."""

    def post_all(user, url: str, body: dict | None = None, *, key: str, times: int = 20) -> list:
        clients = [_client_for(user) for _ in range(times)]
        responses: list = [None] * times

        def send(i: int) -> None:
            responses[i] = clients[i].post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

        assert burst([functools.partial(send, i) for i in range(times)]) == ["ok"] * times
        return responses

    return post_all


@pytest.fixture
def signing_key(settings):
    """A fixed ledger signing key, so that checkpoints and statements are signed with it."""
    settings.LEDGER_SIGNING_KEY = "07" * 32


# --- a local Stripe -------------------------------------------------------------------------
#
# `localstripe` (PyPI) serves PaymentIntents, charges, refunds, balance
# transactions and events in memory. The session fixture `localstripe` starts it
# on a free port, and `stripe_on` points our settings (and so the real `stripe`
# client behind `investments.payments.stripe_client`) at it. No internet needed.
#
# What localstripe does not do, and how the tests cope:
# - it ignores idempotency keys (the same key makes a second object), so our
#   own idempotency is tested against our records;
# - it cannot confirm a PaymentIntent with a payment method passed to
#   `confirm`, so tests set the test card first and then confirm, playing the
#   part of Stripe.js in the resident's browser;
# - it makes no refund events and cannot reach a Django test client, so tests
#   build the events from objects fetched from it and sign them themselves;
# - its PaymentIntents have no `amount_received`: the webhook falls back to
#   `amount` for a succeeded PaymentIntent.
# localstripe writes its whole store to /tmp/localstripe.pickle after every
# change; the fixture turns that off so parallel runs do not share a file.

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


@pytest.fixture
def terms_body():
    """terms_body(issuer, **overrides) -> a valid POST issues/ body for `issuer`, as a client would send it."""

    def body(issuer, **overrides) -> dict:
        now = timezone.now()
        return {
            "issuer": issuer.pk,
            "name": "Community Hall Bond",
            "coupon_rate_percent": "1.00",
            "term_months": 12,
            "interest_frequency": "annual",
            "min_subscription": "100.00",
            "max_subscription": "5000.00",
            "min_raise": "500.00",
            "max_raise": "20000.00",
            "opens_at": now.isoformat(),
            "closes_at": (now + dt.timedelta(days=1)).isoformat(),
            **overrides,
        }

    return body
