"""A resident's journey in a real browser: find an issue, subscribe, pay, see it, cancel."""

import re

import pytest

from investments.models import Subscription
from investments.payments.receipts import receipt_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_subscribe_by_bank_transfer_then_cancel_within_cooling_off(
    page, live_server, society, officer, resident, make_issue, sign_in
):
    issue = make_issue(society, officer, name="Citylife Money-Back Bond")
    sign_in(page, live_server, resident.username)

    page.goto(live_server.url + "/")
    page.click("text=Citylife Money-Back Bond")
    page.fill("#id_amount", "250")
    page.check("input[value=bank_transfer]")
    page.click("button:has-text('Subscribe')")

    page.wait_for_selector("#reference")
    assert page.inner_text("#amount") == "£250.00"
    assert page.inner_text("#status") == "Pending payment"
    reference = page.inner_text("#reference")
    assert re.fullmatch(r"MB[2-9A-Z]{8}", reference)
    assert "60-83-01" in page.content()

    # The officer sees the money arrive on the bank statement.
    subscription = Subscription.objects.get(reference=reference)
    receipt_record(
        actor=officer,
        subscription_id=subscription.pk,
        amount_pence=250_00,
        reference=reference,
        received_on=subscription.created_at.date(),
        idempotency_key="statement-line-1",
    )
    page.goto(f"{live_server.url}/me/")
    assert "Paid" in page.inner_text("#subscriptions")

    page.click("text=Details")
    page.click("button:has-text('Cancel this subscription')")
    page.wait_for_selector("text=Your subscription is cancelled")
    assert "Cancelled" in page.inner_text("#subscriptions")
    issue.refresh_from_db()
    assert issue.committed_pence == 0


def test_a_refusal_says_how_much_is_left(page, live_server, society, officer, resident, make_issue, sign_in):
    make_issue(society, officer, name="Small Bond", max_subscription_pence=500_00)
    sign_in(page, live_server, resident.username)
    page.goto(live_server.url + "/")
    page.click("text=Small Bond")
    page.fill("#id_amount", "400.00")
    page.click("button:has-text('Subscribe')")
    page.wait_for_selector("#reference")
    page.go_back()
    page.goto(page.url)
    page.fill("#id_amount", "150.00")
    page.click("button:has-text('Subscribe')")
    alert = page.wait_for_selector("[role=alert]")
    assert "you can subscribe at most £100.00 more" in alert.inner_text()
