"""An officer sets an issue up in Chromium, without the API: creates a draft (and sees a
mistake next to its field), edits its terms, opens it, grants an auditor (and sees a grant
against segregation of duties refused in words), pays an invoice through the asset lock and
reports what the money paid for. Each page is screenshotted at two widths and checked with
axe-core."""

import datetime as dt

import pytest
from django.utils import timezone

from investments.models import BondIssue, IssueStatus
from issuers.models import RoleGrant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_officer_creates_edits_and_opens_an_issue_then_grants_an_auditor(
    page, live_server, society, officer, make_user, sign_in_as, look
):
    make_user("nadia_new_auditor", resident=False)
    colleague = make_user("ophelia_officer", resident=False)
    RoleGrant.objects.create(issuer=society, user=colleague, role="finance_officer")
    today = timezone.localdate()

    sign_in_as(page, officer)
    page.click("nav >> text=Officer")
    look(page, "officer-home-with-setup-links")
    page.click("text=New draft issue")
    page.fill("#id_name", "Kelham Island Solar Bond")
    page.fill("#id_description", "Solar panels on the Kelham Island workshops.")
    page.fill("#id_coupon_rate_percent", "4.5")
    page.fill("#id_term_months", "36")
    page.fill("#id_min_subscription", "£2,000")  # more than the most per person: refused
    page.fill("#id_max_subscription", "£1,250")
    page.fill("#id_min_raise", "5,000")
    page.fill("#id_max_raise", "25,000")
    page.fill("#id_opens_at", today.isoformat())
    page.fill("#id_closes_at", (today + dt.timedelta(days=30)).isoformat())
    page.click("button:has-text('Save the draft')")
    assert page.inner_text("#id_min_subscription_error") == "Must not be more than the most per person."
    assert page.get_attribute("#id_min_subscription", "aria-invalid") == "true"
    look(page, "officer-issue-new-mistake")

    page.fill("#id_min_subscription", "100")
    page.click("button:has-text('Save the draft')")
    page.wait_for_selector("text=Kelham Island Solar Bond is saved as a draft")
    assert page.inner_text("#status") == "Draft"
    issue = BondIssue.objects.get(name="Kelham Island Solar Bond")

    page.click("text=Edit the terms")
    assert page.input_value("#id_max_raise") == "25,000.00"
    look(page, "officer-issue-terms")
    page.fill("#id_max_subscription", "1,500")
    page.click("button:has-text('Save the terms')")
    page.wait_for_selector("text=The terms of Kelham Island Solar Bond are saved.")
    assert "£100.00 to £1,500.00" in page.inner_text("#terms")
    look(page, "officer-issue-draft")

    page.click("button:has-text('Open for subscriptions')")
    page.wait_for_selector("text=Kelham Island Solar Bond is now open.")
    assert "The terms are frozen" in page.inner_text("#terms-note")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN
    page.goto(f"{live_server.url}/officer/issues/{issue.pk}/terms/")
    assert "Residents subscribe to the terms they read" in page.inner_text("#frozen")
    look(page, "officer-issue-terms-frozen")

    # Roles: an auditor granted; the officer's colleague refused as an auditor, in words.
    page.click("text=Your issuers")
    page.click("text=Officers and auditors")
    page.check("input[value=auditor]")
    page.fill("#id_username", "nadia_new_auditor")
    page.click("button:has-text('Grant the role')")
    page.wait_for_selector("text=nadia_new_auditor is now auditor of Sheffield Citylife Society.")
    assert "nadia_new_auditor" in page.inner_text("#auditors")
    look(page, "officer-roles")
    page.check("input[value=auditor]")
    page.fill("#id_username", "ophelia_officer")
    page.click("button:has-text('Grant the role')")
    refusal = page.inner_text("#refused")
    assert "Not granted, to keep duties apart." in refusal
    assert "ophelia_officer is finance officer of Sheffield Citylife Society" in refusal
    look(page, "officer-roles-refused")
    assert RoleGrant.objects.filter(issuer=society, role="auditor").count() == 1


def test_an_officer_pays_through_the_asset_lock_and_reports_the_use_of_funds(
    page, live_server, society, officer, resident, allotted, sign_in_as, look
):
    issue = allotted(society, officer, resident)  # £1,000 raised

    sign_in_as(page, officer)
    page.goto(f"{live_server.url}/officer/")
    page.click("text=Distributions")
    page.select_option("#id_kind", "dividend")
    page.fill("#id_recipient_name", "A member")
    page.fill("#id_amount", "50")
    page.fill("#id_purpose", "A share of the surplus")
    page.click("button:has-text('Pay it')")
    refusal = page.inner_text("#refusal")
    assert "The asset lock refused this payment." in refusal
    assert "Only a CIC limited by shares may pay dividends" in refusal
    look(page, "officer-distribution-refused")

    page.select_option("#id_kind", "consideration")
    page.fill("#id_recipient_name", "Hall Builders Ltd")
    page.fill("#id_invoice_reference", "INV-204")
    page.fill("#id_amount", "1,250")
    page.fill("#id_purpose", "New roof for the community hall")
    page.click("button:has-text('Pay it')")
    page.wait_for_selector("text=Paid: £1,250.00 to Hall Builders Ltd")
    look(page, "officer-distributions")

    page.goto(f"{live_server.url}/officer/issues/{issue.pk}/")
    page.click("text=Uses of funds")
    page.select_option("#id_ledger_sequence", index=1)
    page.fill("#id_amount", "400")
    page.fill("#id_spent_on", timezone.localdate().isoformat())
    page.fill("#id_purpose", "Roof timbers")
    page.fill("#id_evidence_url", "https://example.org/invoices/204.pdf")
    page.click("button:has-text('Report it')")
    page.wait_for_selector("text=Reported: £400.00 for Roof timbers.")
    assert page.inner_text("#uses-total") == "£400.00"
    look(page, "officer-uses-of-funds")
