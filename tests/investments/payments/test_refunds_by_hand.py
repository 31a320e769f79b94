"""Only a bank-transfer refund is marked sent by hand (issue 9, finding 6).

While Stripe was down an officer could mark a card refund sent: it was closed
with no Stripe id, and the resident was never refunded. Now the service
refuses (422 `refund_is_providers`, its deny decision kept), through the API
and the officer's page alike, and the refund stays owed for the retry.
"""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.models import Decision
from investments.models import Refund
from investments.payments.card import card_refunds_retry_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_refund_owed(
    stripe_on,
    settings,
    society,
    officer,
    resident,
    django_capture_on_commit_callbacks,
    api_client_for,
    make_issue,
    card_subscription,
    pay_by_card,
    stripe_unreachable_url,
):
    """A paid card subscription cancelled while Stripe cannot be reached: its refund is owed."""
    issue = make_issue(society, officer)
    sub = card_subscription(resident, issue, "250.00")
    pay_by_card(stripe_on, sub)
    settings.STRIPE_API_BASE = stripe_unreachable_url
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert (refund.provider, refund.status) == ("stripe", "pending")
    return refund


@pytest.fixture
def still_owed(balances):
    def still_owed(refund, society):
        refund.refresh_from_db()
        assert (refund.status, refund.provider_refund_id, refund.sent_at) == ("pending", None, None)
        assert balances(society) == {"stripe_clearing": 250_00, "refunds_payable": -250_00}

    return still_owed


def test_the_api_refuses_to_mark_a_card_refund_sent(
    card_refund_owed, society, officer, stripe_on, settings, api_client_for, assert_error, still_owed
):
    response = api_client_for(officer).post(f"/api/v1/refunds/{card_refund_owed.pk}/mark-sent/")

    assert_error(response, 422, "refund_is_providers")
    still_owed(card_refund_owed, society)
    decision = Decision.objects.get(rule="refund_is_providers")
    assert (decision.actor, decision.subject_id) == (officer, str(card_refund_owed.pk))

    # Stripe back: the retry sends it, as it should have all along.
    settings.STRIPE_API_BASE = stripe_on
    assert card_refunds_retry_pending() == 1
    card_refund_owed.refresh_from_db()
    assert card_refund_owed.status == "sent" and card_refund_owed.provider_refund_id.startswith("re_")


def test_the_officer_page_refuses_it_too(card_refund_owed, society, officer, still_owed):
    page = Client()
    page.force_login(officer)

    response = page.post(f"/officer/refunds/{card_refund_owed.pk}/mark-sent/", follow=True)

    assert response.status_code == 200
    assert "cannot be marked sent by hand" in response.content.decode()
    still_owed(card_refund_owed, society)
