"""The whole web front end in Chromium: a resident signs up, subscribes by bank transfer, the
officer records the payment and allots, the resident sees the holding; the officer runs the
interest and watches its progress, the resident sees it paid; an over-cap subscription shows
the limit in words. Every main page is screenshotted at two widths and checked with axe-core."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")


def sign_out(page):
    page.click("button:has-text('Sign out')")


def test_from_sign_up_to_interest_paid(page, live_server, society, officer, open_issue, look):
    # The offer opened long ago on paper, so that its first coupon date has passed by the time
    # the bonds are allotted (back-dated to the offer's close, as allotments often are).
    issue = open_issue(
        society, officer, name="Kelham Kitchen Bond", opens_at=timezone.now() - dt.timedelta(days=800)
    )
    page.goto(live_server.url + "/")
    look(page, "home")
    page.click("text=Read the offer")
    page.wait_for_selector("#risks-heading")
    look(page, "offer")

    # Sign up, confirm the address from the e-mail.
    page.click("a:has-text('Register')")
    look(page, "register")
    page.fill("#id_username", "nina_neighbour")
    page.fill("#id_email", "nina@example.org")
    page.fill("#id_full_name", "Nina Neighbour")
    page.fill("#id_date_of_birth", "1980-03-14")
    page.fill("#id_postcode", "S3 8AT")
    page.fill("#id_password", "a long pass phrase for nina")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Welcome, Nina Neighbour")
    link = re.search(r"https?://\S+/accounts/verify-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + link[link.index("/accounts/") :])
    page.wait_for_selector("text=your e-mail address is confirmed")

    # Subscribe by bank transfer, seeing the limit at once.
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    limit = page.inner_text("#limit")
    assert limit == "You can put in between £100.00 and £5,000.00; you have £5,000.00 left."
    page.fill("#id_amount", "1000")
    page.check("input[value=bank_transfer]")
    page.click("button:has-text('Subscribe')")
    reference = page.wait_for_selector("#reference").inner_text()
    look(page, "pay-by-bank-transfer")
    sign_out(page)

    # The officer records the payment and allots, dated a year and more ago.
    sign_in(page, live_server, officer.username)
    page.goto(f"{live_server.url}/officer/")
    look(page, "officer-home")
    page.click("text=Kelham Kitchen Bond")
    look(page, "officer-issue")
    row = page.locator("#subscriptions tr", has_text=reference)
    row.locator("button:has-text('Record payment')").click()
    page.wait_for_selector(f"text=Recorded the payment for {reference}")
    page.click("button:has-text('Close the offer')")
    page.wait_for_selector("text=is now closed")
    allotted_on = timezone.localdate() - dt.timedelta(days=400)
    page.fill("#id_allotted_on", allotted_on.isoformat())
    page.click("button:has-text('Allot the bonds')")
    page.wait_for_selector("text=is now active")
    sign_out(page)

    # The resident sees the holding.
    sign_in(page, live_server, "nina_neighbour", "a long pass phrase for nina")
    page.goto(f"{live_server.url}/me/")
    assert "£1,000.00" in page.inner_text("#holdings")
    look(page, "my-investments")
    sign_out(page)

    # The officer runs the interest of the first year and watches it complete.
    sign_in(page, live_server, officer.username)
    page.goto(f"{live_server.url}/officer/issues/{issue.pk}/")
    coupon = allotted_on.replace(year=allotted_on.year + 1)
    page.fill("#id_period_end", coupon.isoformat())
    page.click("button:has-text('Run the interest')")
    page.wait_for_selector("#run-status:has-text('Completed')")
    assert page.get_attribute("#run-progress", "value") == page.get_attribute("#run-progress", "max")
    look(page, "interest-run")
    sign_out(page)

    sign_in(page, live_server, "nina_neighbour", "a long pass phrase for nina")
    page.goto(f"{live_server.url}/me/")
    paid = page.inner_text("#holdings .interest-paid")
    assert paid in ("£30.00", "£30.08")  # 3 % a year, act/365 fixed over 365 or 366 days


def test_an_over_cap_subscription_shows_the_limit_in_words(
    page, live_server, society, officer, resident, open_issue, look
):
    issue = open_issue(society, officer, name="Small Bond", max_subscription_pence=500_00)
    sign_in(page, live_server, resident.username)
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    page.fill("#id_amount", "400")
    page.click("button:has-text('Subscribe')")
    page.wait_for_selector("#reference")
    page.goto(f"{live_server.url}/issues/{issue.pk}/")
    assert page.inner_text("#limit") == "You can put in between £100.00 and £500.00; you have £100.00 left."
    page.fill("#id_amount", "150")
    page.click("button:has-text('Subscribe')")
    alert = page.wait_for_selector("[role=alert]")
    assert "£100.00" in alert.inner_text()
    look(page, "offer-over-cap")


def test_error_pages_in_the_sites_style(page, live_server, look):
    page.goto(f"{live_server.url}/no-such-page/")
    page.wait_for_selector("text=We cannot find that page")
    look(page, "not-found")
