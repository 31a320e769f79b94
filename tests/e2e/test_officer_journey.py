"""An issue run from the officer's pages in a real browser, then checked by the auditor."""

import pytest

from investments.models import IssueStatus, Receipt
from investments.services.subscriptions import subscription_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_officer_opens_takes_payment_closes_and_allots_then_the_auditor_finds_the_books_valid(
    page, live_server, society, officer, auditor, resident, make_issue, sign_in
):
    issue = make_issue(society, officer, open_it=False, name="Citylife Community Bond")

    sign_in(page, live_server, officer.username)
    page.click("nav >> text=Officer")
    page.click("text=Citylife Community Bond")
    assert page.inner_text("#status") == "Draft"
    page.click("button:has-text('Open for subscriptions')")
    page.wait_for_selector("text=Citylife Community Bond is now open.")
    assert page.inner_text("#status") == "Open"

    # Rita subscribes (on her own pages, elsewhere) and pays by bank transfer.
    subscription, _ = subscription_create(
        actor=resident, issue_id=issue.pk, amount_pence=600_00, payment_method="bank_transfer"
    )
    page.reload()
    row = page.locator(f"#subscription-{subscription.pk}")
    assert "Rita Resident" in row.inner_text()
    assert "Pending payment" in row.inner_text()
    assert row.locator("input[name$='-amount']").input_value() == "600.00"
    assert row.locator("input[name$='-reference']").input_value() == subscription.reference
    row.locator("button:has-text('Record payment')").click()
    page.wait_for_selector(f"text=Recorded the payment for {subscription.reference}: Paid in full.")
    assert "Paid" in page.inner_text(f"#subscription-{subscription.pk}")
    assert page.inner_text("#raised") == "£600.00"
    assert Receipt.objects.filter(subscription=subscription).count() == 1

    page.click("button:has-text('Close the offer')")
    page.wait_for_selector("text=Citylife Community Bond is now closed.")
    page.click("button:has-text('Allot the bonds')")
    page.wait_for_selector("text=Citylife Community Bond is now active.")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.ACTIVE

    page.click("text=Register of bondholders")
    register = page.inner_text("#register")
    assert "Rita Resident" in register
    assert "£600.00" in register

    page.click("button:has-text('Sign out')")
    sign_in(page, live_server, auditor.username)
    page.click("nav >> text=Officer")
    page.click("text=Books and decision log")
    assert page.inner_text("#verification-result") == "valid"
    assert int(page.inner_text("#entries-checked")) >= 2  # the payment and the allotment
    assert "Debits equal credits." in page.inner_text("#balanced")
    assert "minimum_raise" in page.inner_text("#decisions")
