"""The Stripe webhook: signatures, the inbox, duplicates, order, and refunds made at Stripe.

Events are signed here with the test secret, exactly as Stripe signs them:
`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256(secret, "<t>.<raw body>")>`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from investments.models import BondIssue, Receipt, Refund, StripeEvent, Subscription
from investments.payments import webhooks as stripe_webhooks
from investments.tasks import retry_stripe_events
from ledger.models import LedgerEntry

URL = "/api/v1/payments/stripe/webhook/"


def deliver(body: bytes, header: str | None):
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    return APIClient().post(URL, data=body, content_type="application/json", **extra)


@pytest.fixture
def paid_intent(pay_with_test_card, events_from_stripe):
    def paid_intent(base: str, sub: dict) -> dict:
        """The resident pays at localstripe; returns the payment_intent.succeeded event it made."""
        pay_with_test_card(base, sub["payment"]["payment_intent"])
        (succeeded,) = events_from_stripe(base, "payment_intent.succeeded", sub["payment"]["payment_intent"])
        return succeeded

    return paid_intent


@pytest.mark.django_db
class TestSignatures:
    @pytest.fixture
    def body(self, stripe_event) -> bytes:
        """An event of a type we do not act on, as Stripe's pretty-printed bytes."""
        return json.dumps(
            stripe_event("customer.created", {"id": "cus_123", "object": "customer"}), indent=2
        ).encode()

    @pytest.fixture(autouse=True)
    def _secret(self, settings, stripe_webhook_secret):
        settings.STRIPE_WEBHOOK_SECRET = stripe_webhook_secret

    def test_a_valid_signature_is_accepted_and_an_unknown_type_acknowledged(self, body, stripe_signature):
        response = deliver(body, stripe_signature(body))
        assert response.status_code == 200, response.json()
        assert response.json()["outcome"] == "ignored"
        stored = StripeEvent.objects.get()
        assert (stored.type, stored.outcome) == ("customer.created", "ignored")
        assert stored.processed_at is not None
        assert stored.payload == json.loads(body)

    def refused(self, response):
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_signature"
        assert set(response.json()) >= {"code", "detail", "fields"}
        assert not StripeEvent.objects.exists()

    def test_another_secret_is_refused(self, body, stripe_signature):
        self.refused(deliver(body, stripe_signature(body, secret="whsec_someone_else")))

    def test_a_stale_timestamp_is_refused(self, body, stripe_signature):
        self.refused(deliver(body, stripe_signature(body, timestamp=int(time.time()) - 301)))

    def test_a_body_reserialised_on_the_way_is_refused(self, body, stripe_signature):
        header = stripe_signature(body)
        compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
        assert json.loads(compact) == json.loads(body)  # the same data, other bytes
        self.refused(deliver(compact, header))

    def test_a_missing_or_garbled_header_is_refused(self, body):
        self.refused(deliver(body, None))
        self.refused(deliver(body, "nonsense"))
        self.refused(deliver(body, "t=abc,v1=def"))

    def test_without_a_configured_secret_nothing_is_trusted(self, body, settings, stripe_signature):
        settings.STRIPE_WEBHOOK_SECRET = ""
        self.refused(deliver(body, stripe_signature(body, secret="")))

    def test_signed_but_not_an_event_is_400(self, stripe_signature):
        body = b'{"hello": "world"}'
        response = deliver(body, stripe_signature(body))
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_request"


@pytest.mark.django_db
def test_an_event_for_a_payment_intent_we_do_not_know_is_acknowledged_unmatched(
    settings, stripe_webhook_secret, stripe_event, post_stripe_event
):
    settings.STRIPE_WEBHOOK_SECRET = stripe_webhook_secret
    stray = stripe_event("payment_intent.succeeded", {"id": "pi_elsewhere", "amount": 500, "currency": "gbp"})
    response = post_stripe_event(APIClient(), stray)
    assert (response.status_code, response.json()["outcome"]) == (200, "unmatched")
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_succeeded_then_failed_delivered_in_reverse_order_leaves_it_paid(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    paid_intent,
    stripe_event,
    post_stripe_event,
    balances,
):
    """A first card fails, a second succeeds; Stripe delivers the success first."""
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    succeeded = paid_intent(stripe_on, sub)
    failed_attempt = {
        **succeeded["data"]["object"],
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    failed = stripe_event("payment_intent.payment_failed", failed_attempt, created=succeeded["created"] - 60)
    assert post_stripe_event(APIClient(), succeeded).json()["outcome"] == "processed"
    assert post_stripe_event(APIClient(), failed).json()["outcome"] == "stale"
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"
    assert balances(society) == {"stripe_clearing": 250_00, f"subscriptions_held:{issue.pk}": -250_00}


@pytest.mark.django_db
def test_failed_then_succeeded_in_order_also_ends_paid(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    paid_intent,
    stripe_event,
    post_stripe_event,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    succeeded = paid_intent(stripe_on, sub)
    failed = stripe_event(
        "payment_intent.payment_failed",
        {**succeeded["data"]["object"], "status": "requires_payment_method", "last_payment_error": None},
        created=succeeded["created"] - 60,
    )
    assert post_stripe_event(APIClient(), failed).json()["outcome"] == "processed"
    assert post_stripe_event(APIClient(), succeeded).json()["outcome"] == "processed"
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"


@pytest.mark.django_db
def test_a_refund_made_at_stripe_before_its_payment_is_known_waits_then_applies(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    paid_intent,
    stripe_to_dict,
    fake_stripe,
    stripe_event,
    post_stripe_event,
    balances,
):
    """Someone refunds from Stripe's dashboard; the refund event overtakes the payment event."""
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    succeeded = paid_intent(stripe_on, sub)
    dashboard_refund = stripe_to_dict(
        fake_stripe(stripe_on).v1.refunds.create(params={"payment_intent": sub["payment"]["payment_intent"]})
    )
    refund_event = stripe_event("refund.created", dashboard_refund)

    early = post_stripe_event(APIClient(), refund_event).json()
    assert early["outcome"] == "deferred"
    assert not LedgerEntry.objects.exists()

    assert post_stripe_event(APIClient(), succeeded).json()["outcome"] == "processed"
    assert StripeEvent.objects.get(event_id=refund_event["id"]).outcome == "processed"
    stored = Subscription.objects.get(pk=sub["id"])
    assert stored.status == "refunded"
    refund = Refund.objects.get(subscription=stored)
    assert (refund.reason, refund.status, refund.provider_refund_id) == (
        "provider",
        "sent",
        dashboard_refund["id"],
    )
    assert balances(society) == {}
    assert BondIssue.objects.values_list("committed_pence", "raised_pence").get(pk=issue.pk) == (0, 0)
    # The refund event again, and the charge.refunded summary: nothing more.
    assert (
        post_stripe_event(APIClient(), {**refund_event, "id": refund_event["id"] + "_b"}).json()["outcome"]
        == "duplicate"
    )
    charge = {**succeeded["data"]["object"]["latest_charge"], "refunds": {"data": [dashboard_refund]}}
    assert (
        post_stripe_event(APIClient(), stripe_event("charge.refunded", charge)).json()["outcome"]
        == "duplicate"
    )
    assert LedgerEntry.objects.filter(issuer=society).count() == 3


@pytest.mark.django_db
def test_a_partial_refund_at_stripe_is_kept_for_review_not_guessed(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    post_stripe_event,
    paid_intent,
    stripe_to_dict,
    fake_stripe,
    stripe_event,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    post_stripe_event(APIClient(), paid_intent(stripe_on, sub))
    part = stripe_to_dict(
        fake_stripe(stripe_on).v1.refunds.create(
            params={"payment_intent": sub["payment"]["payment_intent"], "amount": 50_00}
        )
    )
    answer = post_stripe_event(APIClient(), stripe_event("refund.created", part)).json()
    assert answer["outcome"] == "needs_review"
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"
    assert balances(society) == {"stripe_clearing": 250_00, f"subscriptions_held:{issue.pk}": -250_00}


@pytest.mark.django_db
def test_our_own_refund_event_arriving_first_settles_it_once(
    stripe_on,
    settings,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    api_client_for,
    make_issue,
    card_subscription,
    post_stripe_event,
    paid_intent,
    stripe_to_dict,
    fake_stripe,
    stripe_event,
    balances,
):
    """We asked Stripe for the refund, but its answer was lost; the refund event tells us instead."""
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    post_stripe_event(APIClient(), paid_intent(stripe_on, sub))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with django_capture_on_commit_callbacks(execute=True):
        api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert refund.status == "pending"
    settings.STRIPE_API_BASE = stripe_on
    at_stripe = stripe_to_dict(
        fake_stripe(stripe_on).v1.refunds.create(
            params={
                "payment_intent": sub["payment"]["payment_intent"],
                "amount": 250_00,
                "metadata": {"refund": str(refund.pk), "subscription": str(sub["id"])},
            }
        )
    )
    assert (
        post_stripe_event(APIClient(), stripe_event("refund.created", at_stripe)).json()["outcome"]
        == "processed"
    )
    refund.refresh_from_db()
    assert (refund.status, refund.provider_refund_id) == ("sent", at_stripe["id"])
    assert (
        post_stripe_event(APIClient(), stripe_event("refund.updated", at_stripe)).json()["outcome"]
        == "duplicate"
    )
    assert balances(society) == {}


@pytest.mark.django_db
def test_a_stripe_fee_in_the_event_is_posted_on_its_own(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    paid_intent,
    post_stripe_event,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    succeeded = paid_intent(stripe_on, sub)
    intent = succeeded["data"]["object"]
    charge = {
        **intent["latest_charge"],
        "balance_transaction": {"id": "txn_fee_1", "fee": 395, "net": 246_05},
    }
    with_fee = {
        **succeeded,
        "data": {"object": {**intent, "amount_received": 250_00, "latest_charge": charge}},
    }
    assert post_stripe_event(APIClient(), with_fee).json()["outcome"] == "processed"
    fee = LedgerEntry.objects.get(issuer=society, kind="fee")
    assert sorted(fee.postings.values_list("account__code", "amount_pence")) == [
        ("stripe_clearing", -395),
        ("stripe_fees", 395),
    ]
    assert balances(society) == {
        "stripe_clearing": 246_05,
        "stripe_fees": 395,
        f"subscriptions_held:{issue.pk}": -250_00,
    }


@pytest.mark.django_db
def test_a_payment_in_another_currency_is_not_applied(
    stripe_on, society, officer, resident, make_issue, card_subscription, paid_intent, post_stripe_event
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    succeeded = paid_intent(stripe_on, sub)
    euros = {**succeeded, "data": {"object": {**succeeded["data"]["object"], "currency": "eur"}}}
    assert post_stripe_event(APIClient(), euros).json()["outcome"] == "needs_review"
    assert not Receipt.objects.exists()


def burst(calls: list) -> list:
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_ten_times_at_once_posts_one_entry(
    stripe_on, society, officer, resident, make_issue, card_subscription, paid_intent, stripe_signature
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    body = json.dumps(paid_intent(stripe_on, sub)).encode()
    header = stripe_signature(body)
    responses = burst([lambda: deliver(body, header) for _ in range(10)])
    assert [r.status_code for r in responses] == [200] * 10
    assert {r.json()["outcome"] for r in responses} <= {"processed", "in_progress"}
    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1
    assert Receipt.objects.count() == 1
    stored = StripeEvent.objects.get()
    assert (stored.outcome, stored.attempts) == ("processed", 1)
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"
    assert BondIssue.objects.get(pk=issue.pk).raised_pence == 250_00


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_payment_under_ten_event_ids_at_once_posts_one_entry(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    paid_intent,
    stripe_signature,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    succeeded = paid_intent(stripe_on, sub)
    bodies = [json.dumps({**succeeded, "id": f"{succeeded['id']}_{n}"}).encode() for n in range(10)]
    responses = burst([lambda body=body: deliver(body, stripe_signature(body)) for body in bodies])
    assert [r.status_code for r in responses] == [200] * 10
    # A handler that queued behind the winner's lock gets the winner's receipt back: both say processed.
    outcomes = [r.json()["outcome"] for r in responses]
    assert set(outcomes) <= {"processed", "duplicate"} and "processed" in outcomes
    assert Receipt.objects.count() == 1
    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1
    assert balances(society) == {"stripe_clearing": 250_00, f"subscriptions_held:{issue.pk}": -250_00}


@pytest.mark.django_db
def test_an_event_that_fails_is_kept_answered_503_and_handled_when_it_comes_again(
    stripe_on,
    society,
    officer,
    resident,
    monkeypatch,
    make_issue,
    card_subscription,
    paid_intent,
    post_stripe_event,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    succeeded = paid_intent(stripe_on, sub)

    def database_trouble(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(stripe_webhooks, "receipt_record", database_trouble)
    failed = post_stripe_event(APIClient(), succeeded)
    assert failed.status_code == 503  # Stripe delivers it again later
    assert failed.json()["code"] == "webhook_not_handled"
    stored = StripeEvent.objects.get(event_id=succeeded["id"])
    assert (stored.outcome, stored.processed_at, stored.claimed_at) == ("failed", None, None)
    assert "database went away" in stored.detail

    monkeypatch.undo()
    again = post_stripe_event(APIClient(), succeeded)
    assert (again.status_code, again.json()["outcome"]) == (200, "processed")
    stored.refresh_from_db()
    assert (stored.attempts, stored.outcome) == (2, "processed")
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"


@pytest.mark.django_db
def test_events_left_unhandled_are_retried_by_the_periodic_task(
    stripe_on, society, officer, resident, make_issue, card_subscription, paid_intent
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    succeeded = paid_intent(stripe_on, sub)
    # Stored by a worker that died before handling it (its claim is old).
    long_ago = timezone.now() - dt.timedelta(hours=1)
    StripeEvent.objects.create(
        event_id=succeeded["id"],
        type=succeeded["type"],
        payment_intent=sub["payment"]["payment_intent"],
        stripe_created_at=long_ago,
        payload=succeeded,
        claimed_at=long_ago,
    )
    StripeEvent.objects.update(received_at=long_ago)
    assert retry_stripe_events() == 1
    assert StripeEvent.objects.get().outcome == "processed"
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"
    assert retry_stripe_events() == 0


@pytest.mark.django_db
def test_a_signed_event_with_an_absurd_time_is_400_not_500(
    settings, stripe_webhook_secret, stripe_event, stripe_signature
):
    settings.STRIPE_WEBHOOK_SECRET = stripe_webhook_secret
    body = json.dumps(stripe_event("customer.created", {"id": "cus_1"}, created=10**15)).encode()
    response = deliver(body, stripe_signature(body))
    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")
