"""The public pages: the open offers with their progress, and an offer with its risks."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_offers_show_progress_against_the_minimum_and_maximum(client, society, officer, open_issue):
    open_issue(society, officer, name="Citylife Money-Back Bond")
    page = client.get("/").content.decode()
    assert "Citylife Money-Back Bond" in page
    assert "<progress" in page
    assert "raised of £" in page and "only if at least £" in page


def test_an_offer_says_the_risks_in_plain_words(client, society, officer, open_issue):
    issue = open_issue(society, officer, name="Citylife Money-Back Bond")
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    for words in (
        "Your capital is at risk",
        "No Financial Services Compensation Scheme cover",
        f"{issue.notice_days} days' notice",
        "everyone is refunded",
    ):
        assert words in page
    assert f"/issues/{issue.pk}/transparency/" in page


def test_a_signed_in_resident_sees_their_limit_in_words(client, society, officer, resident, open_issue):
    issue = open_issue(society, officer, max_subscription_pence=5_000_00, min_subscription_pence=100_00)
    client.force_login(resident)
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert "You can put in between £100.00 and £5,000.00; you have £5,000.00 left." in page
