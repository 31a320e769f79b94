"""`manage.py reconcile_stripe`: the ledger's Stripe clearing against Stripe's balance transactions."""

from __future__ import annotations

import io

import pytest
import requests
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_stripe(stripe_on):
    """localstripe lives for the session: start these tests from an empty account."""
    requests.delete(f"{stripe_on}/_config/data", timeout=5).raise_for_status()
    return stripe_on


def reconcile(*args) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("reconcile_stripe", *args, stdout=out)
    except CommandError as failure:
        return False, out.getvalue() + str(failure)
    return True, out.getvalue()


def test_payments_and_refunds_through_us_reconcile(
    empty_stripe,
    society,
    officer,
    resident,
    make_user,
    django_capture_on_commit_callbacks,
    api_client_for,
    make_issue,
    card_subscription,
    pay_by_card,
):
    issue = make_issue(society, officer)
    kept = card_subscription(resident, issue, "250.00")
    pay_by_card(empty_stripe, kept)
    bert = make_user("bert")
    cancelled = card_subscription(bert, issue, "100.00")
    pay_by_card(empty_stripe, cancelled)
    with django_capture_on_commit_callbacks(execute=True):
        api_client_for(bert).post(f"/api/v1/subscriptions/{cancelled['id']}/cancel/")
    agrees, output = reconcile()
    assert agrees, output
    assert f"issuer {society.pk}: ledger stripe_clearing £250.00; Stripe net £250.00" in output
    assert "charged £350.00, refunded £100.00, fees £0.00" in output


def test_a_refund_made_at_stripe_shows_until_it_is_recorded_and_nothing_is_fixed(
    empty_stripe,
    society,
    officer,
    resident,
    make_issue,
    card_subscription,
    pay_by_card,
    stripe_to_dict,
    fake_stripe,
    post_stripe_event,
    stripe_event,
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    pay_by_card(empty_stripe, sub)
    dashboard = stripe_to_dict(
        fake_stripe(empty_stripe).v1.refunds.create(
            params={"payment_intent": sub["payment"]["payment_intent"]}
        )
    )
    agrees, output = reconcile("--issuer", str(society.pk))
    assert not agrees
    assert "ledger stripe_clearing £250.00, Stripe net £0.00 (difference £250.00)" in output
    assert f"refund {dashboard['id']} of £250.00 at Stripe is not in our books" in output
    assert "nothing was changed" in output
    again, _ = reconcile("--issuer", str(society.pk))
    assert not again  # it fixed nothing
    post_stripe_event(APIClient(), stripe_event("refund.created", dashboard))
    agrees, output = reconcile()
    assert agrees, output


def test_a_payment_stripe_has_but_we_never_heard_of_is_listed(
    empty_stripe, society, officer, resident, make_issue, card_subscription, pay_with_test_card, fake_stripe
):
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    pay_with_test_card(empty_stripe, sub["payment"]["payment_intent"])  # the webhook never came
    agrees, output = reconcile()
    assert not agrees
    assert (
        f"PaymentIntent {sub['payment']['payment_intent']}: Stripe charged £250.00, we recorded £0.00 received"
        in output
    )
    # A charge made outside this service belongs to no issuer.
    stray = fake_stripe(empty_stripe).v1.payment_intents.create(params={"amount": 999, "currency": "gbp"})
    pay_with_test_card(empty_stripe, stray.id)
    _, output = reconcile()
    assert f"PaymentIntent {stray.id} at Stripe belongs to no subscription of ours" in output


def test_an_unknown_issuer_is_an_error(empty_stripe):
    with pytest.raises(CommandError, match="No issuer with id 999"):
        call_command("reconcile_stripe", "--issuer", "999", stdout=io.StringIO())


def test_stripe_unreachable_is_a_clear_error(stripe_on, settings, society):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="Could not read Stripe"):
        call_command("reconcile_stripe", stdout=io.StringIO())


def test_without_stripe_configured_it_says_so(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY is not set"):
        call_command("reconcile_stripe", stdout=io.StringIO())
