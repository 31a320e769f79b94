"""Paying by card, against localstripe over real HTTP: PaymentIntent, webhook, refund, failures.

Each story ends by checking that the subscription and the ledger agree.
"""

from __future__ import annotations

import datetime as dt

import pytest
import stripe
import time_machine
from django.test import Client
from django.utils import timezone

from bondplatform.errors import ServiceError
from bondplatform.models import AuditEvent
from investments.models import BondIssue, Receipt, Refund, StripeEvent, Subscription
from investments.payments import stripe_client
from investments.payments.card import card_refunds_retry_pending
from investments.payments.stripe import StripeProvider
from investments.services.subscriptions import subscription_create, subscriptions_prepare_unprepared
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_a_card_subscription_gets_a_payment_intent_for_its_amount(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    stripe_publishable_key,
    stripe_to_dict,
    fake_stripe,
    api_client_for,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    payment = sub["payment"]
    assert payment["provider"] == "stripe"
    assert payment["payment_intent"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["payment_intent"] + "_secret_")
    assert payment["publishable_key"] == stripe_publishable_key
    intent = stripe_to_dict(fake_stripe(stripe_on).v1.payment_intents.retrieve(payment["payment_intent"]))
    assert (intent["amount"], intent["currency"]) == (250_00, "gbp")
    assert intent["metadata"] == {"subscription": str(sub["id"]), "issue": str(issue.pk)}
    stored = Subscription.objects.get(pk=sub["id"])
    assert (stored.provider, stored.provider_payment_id) == ("stripe", payment["payment_intent"])
    # The resident's list shows the same instructions.
    mine = api_client_for(resident).get("/api/v1/me/subscriptions/").json()["results"]
    assert mine[0]["payment"]["payment_intent"] == payment["payment_intent"]


def test_paying_by_card_marks_the_subscription_paid_with_one_ledger_entry(
    stripe_on, society, officer, resident, make_issue, card_subscription, pay_by_card, api_client_for
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    answer = pay_by_card(stripe_on, sub)
    assert answer["outcome"] == "processed"
    stored = Subscription.objects.get(pk=sub["id"])
    assert (stored.status, stored.received_pence) == ("paid", 250_00)
    entry = LedgerEntry.objects.get(issuer=society, kind="subscription_payment")
    assert sorted(entry.postings.values_list("account__code", "amount_pence")) == [
        ("stripe_clearing", 250_00),
        (f"subscriptions_held:{issue.pk}", -250_00),
    ]
    assert (
        Receipt.objects.get(subscription_id=sub["id"]).idempotency_key
        == f"stripe:{stored.provider_payment_id}"
    )
    assert BondIssue.objects.get(pk=issue.pk).raised_pence == 250_00
    # Once paid, the client secret is no longer handed out.
    assert (
        api_client_for(resident)
        .get("/api/v1/me/subscriptions/")
        .json()["results"][0]["payment"]["client_secret"]
        is None
    )


def test_a_redelivered_event_posts_nothing_twice(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    pay_by_card,
    events_from_stripe,
    post_stripe_event,
    api_client_for,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    pay_by_card(stripe_on, sub)
    (succeeded,) = events_from_stripe(stripe_on, "payment_intent.succeeded", sub["payment"]["payment_intent"])
    again = post_stripe_event(api_client_for(None), succeeded)
    assert again.status_code == 200
    assert StripeEvent.objects.filter(event_id=succeeded["id"]).count() == 1
    # The same payment announced under another event id (Stripe does resend): still one receipt.
    other = post_stripe_event(
        api_client_for(None),
        {**succeeded, "id": succeeded["id"] + "_again", "created": succeeded["created"] + 86_400},
    )
    assert other.json()["outcome"] == "duplicate"
    assert LedgerEntry.objects.filter(issuer=society, kind="subscription_payment").count() == 1


def test_cancelling_in_cooling_off_refunds_the_card_and_reverses_the_ledger(
    stripe_on,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    make_issue,
    card_subscription,
    pay_by_card,
    api_client_for,
    stripe_to_dict,
    fake_stripe,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    pay_by_card(stripe_on, sub)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.reason, refund.status, refund.amount_pence) == ("cooling_off", "sent", 250_00)
    at_stripe = stripe_to_dict(fake_stripe(stripe_on).v1.refunds.retrieve(refund.provider_refund_id))
    assert (at_stripe["amount"], at_stripe["payment_intent"]) == (250_00, sub["payment"]["payment_intent"])
    assert at_stripe["metadata"]["refund"] == str(refund.pk)
    # Receipt in, refund owed, refund sent: Stripe clearing and everything owed are back to zero.
    assert balances(society) == {}
    kinds = list(
        LedgerEntry.objects.filter(issuer=society).order_by("sequence").values_list("kind", flat=True)
    )
    assert kinds == ["subscription_payment", "subscription_refund", "subscription_refund"]
    issue.refresh_from_db()
    assert (issue.committed_pence, issue.raised_pence) == (0, 0)


def test_a_refund_stripe_cannot_take_now_stays_pending_and_goes_out_later(
    stripe_on,
    settings,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    make_issue,
    card_subscription,
    pay_by_card,
    stripe_unreachable_url,
    api_client_for,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    pay_by_card(stripe_on, sub)
    settings.STRIPE_API_BASE = stripe_unreachable_url
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    assert response.status_code == 200  # the cancellation stands; the money is owed
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert refund.status == "pending"
    assert balances(society) == {"stripe_clearing": 250_00, "refunds_payable": -250_00}
    settings.STRIPE_API_BASE = stripe_on
    assert card_refunds_retry_pending() == 1
    refund.refresh_from_db()
    assert refund.status == "sent" and refund.provider_refund_id.startswith("re_")
    assert balances(society) == {}
    assert card_refunds_retry_pending() == 0  # nothing twice


def test_stripe_unreachable_when_subscribing_gives_a_clear_503_and_releases_the_place(
    stripe_on, settings, society, officer, resident, make_issue, stripe_unreachable_url, subscribe
):
    issue = make_issue(society, officer)
    settings.STRIPE_API_BASE = stripe_unreachable_url
    response = subscribe(resident, issue, "250.00", method="card", key="tab-1")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "payment_provider_unavailable"
    assert "bank transfer" in body["detail"]
    issue.refresh_from_db()
    assert issue.committed_pence == 0
    abandoned = Subscription.objects.get(investor=resident)
    assert (abandoned.status, abandoned.idempotency_key) == ("cancelled", None)
    assert AuditEvent.objects.filter(action="subscription.payment_setup_failed").count() == 1
    # Stripe is back: the same Idempotency-Key makes a fresh subscription, not the dead one.
    settings.STRIPE_API_BASE = stripe_on
    retry = subscribe(resident, issue, "250.00", method="card", key="tab-1")
    assert retry.status_code == 201
    assert retry.json()["id"] != abandoned.pk
    assert retry.json()["payment"]["payment_intent"].startswith("pi_")


def test_stripe_refusing_our_key_is_our_problem_not_the_residents(
    stripe_on, settings, society, officer, resident, make_issue, subscribe
):
    issue = make_issue(society, officer)
    settings.STRIPE_SECRET_KEY = "rk_not_a_secret_key"  # localstripe answers 401, as Stripe would
    response = subscribe(resident, issue, "250.00", method="card")
    assert response.status_code == 503
    assert response.json()["code"] == "payment_provider_unavailable"
    assert "key" not in response.json()["detail"].lower()


def test_a_declined_card_maps_to_card_declined(
    stripe_on, society, officer, resident, make_issue, card_subscription, pay_with_test_card
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    with pytest.raises(stripe_client.CardDeclined) as declined:
        with stripe_client._translated("take the card payment"):
            pay_with_test_card(stripe_on, sub["payment"]["payment_intent"], card="pm_card_chargeCustomerFail")
    assert declined.value.status_code == 402
    assert declined.value.code == "card_declined"
    assert declined.value.detail == "Your card was declined."


def test_a_failed_card_payment_leaves_the_subscription_pending_and_a_later_success_pays_it(
    stripe_on,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    pay_with_test_card,
    events_from_stripe,
    post_stripe_event,
    api_client_for,
    stripe_event,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    intent_id = sub["payment"]["payment_intent"]
    with pytest.raises(Exception, match="declined"):
        pay_with_test_card(stripe_on, intent_id, card="pm_card_chargeCustomerFail")
    (failed,) = events_from_stripe(stripe_on, "payment_intent.payment_failed", intent_id)
    answer = post_stripe_event(api_client_for(None), failed).json()
    assert answer["outcome"] == "processed"
    assert Subscription.objects.get(pk=sub["id"]).status == "pending_payment"
    assert AuditEvent.objects.get(action="subscription.card_payment_failed").data["code"] == "card_declined"
    assert not LedgerEntry.objects.filter(issuer=society).exists()
    # The resident tries another card on the same PaymentIntent. (localstripe cannot confirm a
    # PaymentIntent again after a failure, so Stripe's success event is built from the failed one.)
    intent = {**failed["data"]["object"], "status": "succeeded", "last_payment_error": None}
    succeeded = stripe_event("payment_intent.succeeded", {**intent, "amount_received": intent["amount"]})
    assert post_stripe_event(api_client_for(None), succeeded).json()["outcome"] == "processed"
    assert Subscription.objects.get(pk=sub["id"]).status == "paid"


def test_a_card_payment_after_cancelling_is_refunded_whole(
    stripe_on,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    make_issue,
    card_subscription,
    api_client_for,
    pay_by_card,
    balances,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue)
    api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(stripe_on, sub)  # the page was still open
    stored = Subscription.objects.get(pk=sub["id"])
    assert stored.status == "cancelled"
    refund = Refund.objects.get(subscription=stored)
    assert (refund.reason, refund.status, refund.amount_pence) == ("late_payment", "sent", 250_00)
    assert balances(society) == {}
    assert BondIssue.objects.get(pk=issue.pk).raised_pence == 0


def test_the_subscription_page_confirms_the_card_payment_with_stripe_js(
    stripe_on, society, officer, resident, make_issue, card_subscription, stripe_publishable_key, pay_by_card
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    browser = Client()
    browser.force_login(resident)
    page = browser.get(f"/subscriptions/{sub['id']}/").content.decode()
    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert f'"{sub["payment"]["client_secret"]}"' in page
    assert f'"{stripe_publishable_key}"' in page
    assert 'name="card' not in page  # no card field of ours: Stripe's element collects it
    pay_by_card(stripe_on, sub)
    paid_page = browser.get(f"/subscriptions/{sub['id']}/").content.decode()
    assert sub["payment"]["client_secret"] not in paid_page


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (stripe.CardError("Your card has insufficient funds.", None, "card_declined"), 402, "card_declined"),
        (
            stripe.InvalidRequestError("Amount must be at least 30p", "amount"),
            422,
            "payment_provider_refused",
        ),
        (
            stripe.IdempotencyError("Keys for idempotent requests can only be used with the same parameters"),
            409,
            "payment_provider_conflict",
        ),
        (stripe.APIConnectionError("Network error"), 503, "payment_provider_unavailable"),
        (stripe.RateLimitError("Too many requests"), 503, "payment_provider_unavailable"),
        (
            stripe.AuthenticationError("Invalid API Key provided: sk_live_****"),
            503,
            "payment_provider_unavailable",
        ),
        (stripe.APIError("Stripe had a problem"), 503, "payment_provider_unavailable"),
        (stripe.StripeError("Something new"), 503, "payment_provider_unavailable"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_every_stripe_error_becomes_one_of_ours(error, status, code):
    with pytest.raises(ServiceError) as ours:
        with stripe_client._translated("do something"):
            raise error
    assert (ours.value.status_code, ours.value.code) == (status, code)
    assert "sk_live" not in ours.value.detail and "API Key" not in ours.value.detail


def test_a_card_subscription_paid_by_bank_transfer_is_refunded_by_bank_transfer(
    stripe_on, society, officer, resident, make_issue, card_subscription, api_client_for, balances
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    reference = Subscription.objects.get(pk=sub["id"]).reference
    paid = api_client_for(officer).post(
        f"/api/v1/subscriptions/{sub['id']}/record-payment/",
        {"amount": "250.00", "reference": reference, "received_on": timezone.localdate().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="bank-1",
    )
    assert paid.json()["status"] == "paid"
    assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.provider, refund.amount_pence, refund.status) == ("bank_transfer", 250_00, "pending")
    assert balances(society) == {"cash_at_bank": 250_00, "refunds_payable": -250_00}


def test_cancelling_an_unpaid_card_subscription_cancels_its_payment_intent(
    stripe_on,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    make_issue,
    card_subscription,
    api_client_for,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    assert response.status_code == 200
    intent = stripe_client.payment_intent_retrieve(sub["payment"]["payment_intent"])
    assert intent.status == "canceled"
    assert not Refund.objects.filter(subscription_id=sub["id"]).exists()


def test_a_card_subscription_whose_request_died_before_stripe_is_set_up_later(
    stripe_on, society, officer, resident, make_user, monkeypatch, make_issue, subscribe
):
    """The process died after committing the subscription and before creating its PaymentIntent."""

    issue = make_issue(society, officer)
    real_prepare = StripeProvider.prepare
    monkeypatch.setattr(StripeProvider, "prepare", lambda self, subscription: None)
    retried, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=250_00, payment_method="card", idempotency_key="tab"
    )
    abandoned, _ = subscription_create(
        actor=make_user("walter"), issue_id=issue.pk, amount_pence=300_00, payment_method="card"
    )
    assert retried.provider_payment_id is None and abandoned.provider_payment_id is None
    monkeypatch.setattr(StripeProvider, "prepare", real_prepare)

    # The resident's client retries with the same key: the payment is set up now.
    again = subscribe(resident, issue, "250.00", method="card", key="tab")
    assert again.json()["id"] == retried.pk
    assert again.json()["payment"]["payment_intent"].startswith("pi_")

    # Nobody retries the other one: the periodic task sets it up a few minutes later.
    assert subscriptions_prepare_unprepared() == 0  # too recent: its request may still be running
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert subscriptions_prepare_unprepared() == 1
    assert Subscription.objects.get(pk=abandoned.pk).provider_payment_id.startswith("pi_")
