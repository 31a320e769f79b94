"""Money leaving an issuer on the officers' pages: distributions through the asset-lock guard,
and what an issue's money was used for (Django's test client).

The pages call the services the API calls (`compliance.distributions.distribution_request`,
`investments.services.accountability.use_of_funds_report`): the asset lock judges every
payment, and a refusal is explained on the page in words and kept in the decision log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import Decision, Distribution, Outcome
from investments.models import UseOfFunds
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

TOKEN = "a-form-token-of-the-page-1234"


@pytest.fixture
def payment():
    """What an officer types to pay a builder's invoice."""

    def form(**changes) -> dict[str, str]:
        data = {
            "kind": "consideration",
            "recipient_name": "Hall Builders Ltd",
            "invoice_reference": "INV-204",
            "amount": "£1,250.00",
            "purpose": "New roof for the community hall",
            "token": TOKEN,
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}

    return form


# --- distributions -------------------------------------------------------------------


def test_an_officer_pays_an_invoice_and_sees_it_listed(browser_for, officer, society, payment):
    client = browser_for(officer)
    url = f"/officer/issuers/{society.pk}/distributions/"
    form_page = client.get(url)
    assert form_page.status_code == 200
    assert 'id="distribution-form"' in form_page.content.decode()

    response = client.post(url, payment())

    assert response.status_code == 302
    distribution = Distribution.objects.get()
    assert (distribution.amount_pence, distribution.kind, distribution.created_by) == (
        1_250_00,
        "consideration",
        officer,
    )
    page = client.get(url).content.decode()
    assert (
        f"Paid: £1,250.00 to Hall Builders Ltd, entry {distribution.ledger_entry.sequence} of the ledger."
        in page
    )
    listed = page[page.index('id="distributions"') :]
    assert "£1,250.00" in listed
    assert timezone.localdate().strftime("%-d %B %Y") in listed  # the day in words
    assert "New roof for the community hall · invoice INV-204" in listed


def test_the_same_form_sent_twice_pays_once(browser_for, officer, society, payment):
    client = browser_for(officer)
    url = f"/officer/issuers/{society.pk}/distributions/"

    client.post(url, payment())
    again = client.post(url, payment())

    assert again.status_code == 302
    assert Distribution.objects.count() == 1
    assert "Already paid (the same form was sent twice)" in client.get(url).content.decode()


def test_a_refusal_by_the_asset_lock_is_explained_and_kept_in_the_decision_log(
    browser_for, officer, society, payment
):
    entries_before = LedgerEntry.objects.count()

    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/distributions/",
        payment(kind="dividend", recipient_name="A member", purpose="A share of the surplus"),
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "The asset lock refused this payment." in page
    assert "Only a CIC limited by shares may pay dividends" in page
    assert "The rule: Co-operative and Community Benefit Societies Act 2014 and SI 2006/264" in page
    assert "Nothing was paid and the ledger is unchanged." in page
    assert 'value="A share of the surplus"' not in page  # a textarea keeps it as its text
    assert "A share of the surplus</textarea>" in page
    assert not Distribution.objects.exists()
    assert LedgerEntry.objects.count() == entries_before
    decision = Decision.objects.get(rule="asset_lock")
    assert (decision.outcome, decision.actor) == (Outcome.DENY, officer)
    assert "Only a CIC limited by shares may pay dividends" in decision.reason


def test_form_mistakes_are_shown_next_to_their_fields(browser_for, officer, society, payment):
    response = browser_for(officer).post(
        f"/officer/issuers/{society.pk}/distributions/",
        payment(amount="0", recipient_name="", kind="a gift"),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert '<span class="error" id="id_amount_error">The amount must be more than zero.</span>' in page
    assert '<span class="error" id="id_recipient_name_error">This field is required.</span>' in page
    assert 'id="id_kind_error">Select a valid choice.' in page
    assert not Distribution.objects.exists()


def test_an_auditor_reads_the_distributions_but_cannot_pay(browser_for, officer, auditor, society, payment):
    browser_for(officer).post(f"/officer/issuers/{society.pk}/distributions/", payment())
    client = browser_for(auditor)

    page = client.get(f"/officer/issuers/{society.pk}/distributions/")
    refused = client.post(
        f"/officer/issuers/{society.pk}/distributions/", payment(token="another-token-of-auditor")
    )

    assert page.status_code == 200
    assert "Hall Builders Ltd" in page.content.decode()
    assert 'id="distribution-form"' not in page.content.decode()
    assert refused.status_code == 403
    assert Distribution.objects.count() == 1


def test_another_issuers_officer_is_refused(browser_for, other_officer, society, payment):
    client = browser_for(other_officer)
    assert client.get(f"/officer/issuers/{society.pk}/distributions/").status_code == 403
    assert client.post(f"/officer/issuers/{society.pk}/distributions/", payment()).status_code == 403
    assert not Distribution.objects.exists()


# --- uses of funds -------------------------------------------------------------------


@pytest.fixture
def funded(society, officer, resident, allotted, browser_for, payment):
    """An issue that raised £1,000, and a £1,250 invoice paid by the issuer: (issue, its entry's sequence)."""
    issue = allotted(society, officer, resident)
    browser_for(officer).post(f"/officer/issuers/{society.pk}/distributions/", payment())
    return issue, Distribution.objects.get().ledger_entry.sequence


def use_form(sequence, **changes) -> dict[str, str]:
    data = {
        "ledger_sequence": str(sequence),
        "amount": "£400",
        "purpose": "Roof timbers",
        "spent_on": timezone.localdate().isoformat(),
        "evidence_url": "https://example.org/invoices/204.pdf",
    }
    data.update(changes)
    return data


def test_an_officer_reports_a_use_of_funds_against_the_payment_that_made_it(browser_for, officer, funded):
    issue, sequence = funded
    client = browser_for(officer)
    url = f"/officer/issues/{issue.pk}/uses-of-funds/"
    form_page = client.get(url).content.decode()
    assert f'<option value="{sequence}">Entry {sequence}: £1,250.00 to Hall Builders Ltd on ' in form_page

    response = client.post(url, use_form(sequence))

    assert response.status_code == 302
    use = UseOfFunds.objects.get()
    assert (use.amount_pence, use.ledger_entry.sequence, use.evidence_url) == (
        400_00,
        sequence,
        "https://example.org/invoices/204.pdf",
    )
    page = client.get(url).content.decode()
    assert "Reported: £400.00 for Roof timbers." in page
    assert '<td class="money" id="uses-total">£400.00</td>' in page
    assert "Reported, of £1,000.00 raised" in page


def test_more_than_the_issue_raised_is_refused_in_words(browser_for, officer, funded):
    issue, sequence = funded

    response = browser_for(officer).post(
        f"/officer/issues/{issue.pk}/uses-of-funds/", use_form(sequence, amount="1,000.01")
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Not reported." in page
    assert "The issue raised £1,000.00, of which £0.00 is already reported as used" in page
    assert not UseOfFunds.objects.exists()
    assert Decision.objects.get(rule="use_of_funds").outcome == Outcome.DENY


def test_use_of_funds_mistakes_are_shown_next_to_their_fields(browser_for, officer, funded):
    issue, sequence = funded
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    client = browser_for(officer)

    future = client.post(f"/officer/issues/{issue.pk}/uses-of-funds/", use_form(sequence, spent_on=tomorrow))
    wrong = client.post(
        f"/officer/issues/{issue.pk}/uses-of-funds/",
        use_form(sequence, evidence_url="ftp://example.org/x", ledger_sequence="99"),
    )

    assert future.status_code == 400
    assert '<span class="error" id="id_spent_on_error">Not in the future.</span>' in future.content.decode()
    assert wrong.status_code == 400
    assert 'id="id_evidence_url_error">Enter a valid URL.' in wrong.content.decode()
    assert 'id="id_ledger_sequence_error">Select a valid choice.' in wrong.content.decode()
    assert not UseOfFunds.objects.exists()


def test_without_a_payment_to_point_at_the_page_says_to_pay_first(
    browser_for, officer, society, resident, allotted
):
    issue = allotted(society, officer, resident)

    page = browser_for(officer).get(f"/officer/issues/{issue.pk}/uses-of-funds/").content.decode()

    assert 'id="use-of-funds-form"' not in page
    assert "pay it as a distribution first" in page
    assert f'href="/officer/issuers/{society.pk}/distributions/"' in page


def test_an_auditor_reads_the_uses_but_cannot_report_and_strangers_are_refused(
    browser_for, officer, auditor, other_officer, funded
):
    issue, sequence = funded
    url = f"/officer/issues/{issue.pk}/uses-of-funds/"
    browser_for(officer).post(url, use_form(sequence))

    read = browser_for(auditor).get(url)
    refused = browser_for(auditor).post(url, use_form(sequence, purpose="Scaffolding"))

    assert read.status_code == 200
    assert "Roof timbers" in read.content.decode()
    assert 'id="use-of-funds-form"' not in read.content.decode()
    assert refused.status_code == 403
    assert browser_for(other_officer).get(url).status_code == 403
    assert browser_for(other_officer).post(url, use_form(sequence)).status_code == 403
    assert UseOfFunds.objects.count() == 1
    issue_page = browser_for(officer).get(f"/officer/issues/{issue.pk}/").content.decode()
    assert f'href="{url}"' in issue_page
