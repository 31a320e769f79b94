"""An officer's pages for a draft issue: create one, edit its terms, and see why an open
issue's terms cannot change (Django's test client, no browser).

Personas from tests/conftest.py: Olive the officer and Arthur the auditor of the Citylife
society; Oona, officer of another issuer (the Park Hill CIC).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bondplatform.models import AuditEvent
from investments.models import BondIssue, IssueStatus

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def terms_form():
    """What an officer types into the form: pounds with £ and commas, days, a list of postcodes."""

    def form(**changes) -> dict[str, str]:
        data = {
            "name": "Kelham Island Solar Bond",
            "description": "Solar panels on the Kelham Island workshops.",
            "coupon_rate_percent": "4.5",
            "term_months": "36",
            "interest_frequency": "annual",
            "day_count": "act_365f",
            "min_subscription": "£100",
            "max_subscription": "£1,250.00",
            "min_raise": "0",
            "max_raise": "25,000",
            "opens_at": "2027-04-05",
            "closes_at": "2027-06-30",
            "eligible_postcode_prefixes": "s3, S6 1",
            "cooling_off_days": "14",
            "notice_days": "90",
            "performance_related": "on",
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}

    return form


def field_error(page: str, field: str) -> str:
    """The message shown under a field (empty if none), checking that the input points at it."""
    match = re.search(rf'<span class="error" id="id_{field}_error">([^<]*)</span>', page)
    if not match:
        return ""
    assert re.search(rf'<[^>]*aria-describedby="[^"]*id_{field}_error[^"]*"[^>]*id="id_{field}"', page), field
    return match.group(1)


def as_sent(form) -> dict[str, str]:
    """What a browser sends back from the form as shown: every value as its input holds it."""
    sent = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form[name].value())
        if value is True:
            sent[name] = "on"
        elif value is not None and value is not False:
            sent[name] = str(value)
    return sent


# --- creating a draft ------------------------------------------------------------------


def test_the_officer_home_offers_a_new_draft_for_each_issuer_they_run(browser_for, officer, auditor, society):
    officer_home = browser_for(officer).get("/officer/").content.decode()
    auditor_home = browser_for(auditor).get("/officer/").content.decode()

    assert f'href="/officer/issuers/{society.pk}/issues/new/"' in officer_home
    assert f'href="/officer/issuers/{society.pk}/roles/"' in officer_home
    assert "/issues/new/" not in auditor_home
    assert "/roles/" not in auditor_home


def test_an_officer_creates_a_draft_in_pounds_and_days(browser_for, officer, society, terms_form):
    client = browser_for(officer)
    page = client.get(f"/officer/issuers/{society.pk}/issues/new/").content.decode()
    assert "Sheffield Citylife Society&#x27;s rules allow at most 5.00 % a year." in page

    response = client.post(f"/officer/issuers/{society.pk}/issues/new/", terms_form())

    issue = BondIssue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/officer/issues/{issue.pk}/"
    assert (issue.issuer, issue.status, issue.created_by) == (society, IssueStatus.DRAFT, officer)
    assert (issue.min_subscription_pence, issue.max_subscription_pence) == (100_00, 1_250_00)
    assert (issue.min_raise_pence, issue.max_raise_pence) == (0, 25_000_00)
    assert issue.eligible_postcode_prefixes == ["S3", "S6 1"]
    assert issue.performance_related and not issue.reinvestment_allowed
    # From the start of the first day to the end of the last, in the UK.
    assert issue.opens_at.astimezone(LONDON) == dt.datetime(2027, 4, 5, tzinfo=LONDON)
    assert issue.closes_at.astimezone(LONDON) == dt.datetime(2027, 6, 30, 23, 59, 59, tzinfo=LONDON)

    shown = client.get(response["Location"]).content.decode()
    assert "is saved as a draft" in shown
    assert "£100.00 to £1,250.00" in shown
    assert "5 April 2027 to 30 June 2027" in shown
    assert f'href="/officer/issues/{issue.pk}/terms/"' in shown


def test_the_services_refusals_are_shown_next_to_their_fields_in_words(
    browser_for, officer, society, terms_form
):
    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/issues/new/",
        terms_form(min_subscription="2,000", closes_at="2027-04-01", max_raise="1,500"),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert field_error(page, "closes_at") == "Must be after the opening day."
    assert field_error(page, "min_subscription") == "Must not be more than the most per person."
    assert field_error(page, "name") == ""
    assert 'value="2,000"' in page  # what was typed is kept
    assert not BondIssue.objects.exists()


def test_a_form_mistake_is_shown_next_to_its_field(browser_for, officer, society, terms_form):
    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/issues/new/",
        terms_form(max_subscription="12.345", eligible_postcode_prefixes="S3, 12X", name="", max_raise=""),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "at most two decimals" in field_error(page, "max_subscription")
    assert field_error(page, "eligible_postcode_prefixes") == "Not the start of a UK postcode: 12X."
    assert field_error(page, "name") == "This field is required."
    assert field_error(page, "max_raise") == "This field is required."
    assert 'id="form-errors"' in page
    assert not BondIssue.objects.exists()


def test_nobody_but_the_issuers_officers_may_create_its_issues(
    browser_for, auditor, other_officer, society, terms_form
):
    url = f"/officer/issuers/{society.pk}/issues/new/"
    for person in (auditor, other_officer):
        assert browser_for(person).get(url).status_code == 403
        refused = browser_for(person).post(url, terms_form())
        assert refused.status_code == 403
        assert "Only a finance officer of this issuer" in refused.content.decode()
    assert not BondIssue.objects.exists()


# --- editing a draft's terms -------------------------------------------------------------


@pytest.fixture
def draft(society, officer, make_issue):
    return make_issue(
        society, officer, open_it=False, name="Citylife Community Bond", max_raise_pence=25_000_00
    )


def test_the_terms_page_shows_the_drafts_terms_in_pounds(browser_for, officer, draft):
    response = browser_for(officer).get(f"/officer/issues/{draft.pk}/terms/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="max_raise" value="25,000.00"' in page
    assert 'name="min_subscription" value="100.00"' in page
    assert f'name="closes_at" value="{timezone.localdate(draft.closes_at).isoformat()}"' in page


def test_an_officer_changes_one_term_and_only_it_changes(browser_for, officer, draft):
    sent = as_sent(browser_for(officer).get(f"/officer/issues/{draft.pk}/terms/").context["form"])
    sent["max_subscription"] = "£6,000"

    response = browser_for(officer).post(f"/officer/issues/{draft.pk}/terms/", sent)

    assert response.status_code == 302
    before_closes_at = draft.closes_at
    draft.refresh_from_db()
    assert draft.max_subscription_pence == 6_000_00
    assert draft.closes_at == before_closes_at  # the day left alone keeps its time
    event = AuditEvent.objects.get(action="issue.update_terms")
    assert event.data == {"changed": ["max_subscription_pence"]}


def test_a_refused_change_is_shown_next_to_its_field(browser_for, officer, draft):
    client = browser_for(officer)
    sent = as_sent(client.get(f"/officer/issues/{draft.pk}/terms/").context["form"])
    sent["min_raise"] = "30,000"

    response = client.post(f"/officer/issues/{draft.pk}/terms/", sent)

    assert response.status_code == 400
    assert field_error(response.content.decode(), "min_raise") == "Must not be more than the maximum raise."
    draft.refresh_from_db()
    assert draft.min_raise_pence == 500_00


def test_once_open_the_terms_are_frozen_and_the_page_says_why(browser_for, officer, society, make_issue):
    issue = make_issue(society, officer, name="Citylife Community Bond")
    client = browser_for(officer)

    shown = client.get(f"/officer/issues/{issue.pk}/terms/")
    refused = client.post(f"/officer/issues/{issue.pk}/terms/", {"name": "Another name"})

    assert shown.status_code == 200
    assert refused.status_code == 409
    for response in (shown, refused):
        page = response.content.decode()
        assert "The terms of Citylife Community Bond are frozen" in page
        assert "Residents subscribe to the terms they read" in page
        assert 'id="issue-terms"' not in page  # no form to fill in
    issue.refresh_from_db()
    assert issue.name == "Citylife Community Bond"
    issue_page = client.get(f"/officer/issues/{issue.pk}/").content.decode()
    assert "The terms are frozen" in issue_page
    assert f"/officer/issues/{issue.pk}/terms/" not in issue_page


def test_nobody_but_the_issuers_officers_may_edit_its_terms(browser_for, auditor, other_officer, draft):
    for person in (auditor, other_officer):
        assert browser_for(person).get(f"/officer/issues/{draft.pk}/terms/").status_code == 403
        assert (
            browser_for(person).post(f"/officer/issues/{draft.pk}/terms/", {"name": "X"}).status_code == 403
        )
    draft.refresh_from_db()
    assert draft.name == "Citylife Community Bond"
    assert browser_for(auditor).get("/officer/issues/999999/terms/").status_code == 404
