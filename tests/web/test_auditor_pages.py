"""The auditors' ledger browser and decision log: who may read them, and their filters."""

import datetime as dt

import pytest
from django.utils import timezone

from investments import views_auditor
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def books_with_an_allotment(allotted_holding):
    """A £1,000 holding allotted today: its issuer's ledger has a payment and an allotment."""
    return allotted_holding()


def test_an_auditor_browses_the_ledger_with_hashes_and_postings(client, auditor, books_with_an_allotment):
    issuer = books_with_an_allotment.issue.issuer
    client.force_login(auditor)
    page = client.get(f"/auditor/issuers/{issuer.pk}/ledger/").content.decode()
    entries = list(LedgerEntry.objects.filter(issuer=issuer).order_by("sequence"))
    assert f"{len(entries)} entr" in page
    for entry in entries:
        assert f'id="entry-{entry.sequence}"' in page
        assert f'title="{entry.hash}">{entry.hash[:12]}…' in page  # shortened, the full one to hover
        assert f'<code class="hash">{entry.hash}</code>' in page  # and to copy
    assert "Bonds allotted" in page and "Dr £1,000.00" in page and "Cr £1,000.00" in page
    assert f"<code>bond_principal:{books_with_an_allotment.pk}</code>" in page


def test_the_filters_narrow_the_entries(client, auditor, books_with_an_allotment):
    issuer = books_with_an_allotment.issue.issuer
    client.force_login(auditor)
    url = f"/auditor/issuers/{issuer.pk}/ledger/"
    page = client.get(url, {"kind": "allotment"}).content.decode()
    assert "1 entry matches these filters" in page and "Bonds allotted" in page
    page = client.get(url, {"account": f"bond_principal:{books_with_an_allotment.pk}"}).content.decode()
    assert "1 entry matches" in page
    page = client.get(url, {"issue": books_with_an_allotment.issue_id, "kind": "subscription_payment"})
    assert "1 entry matches" in page.content.decode()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert "0 entries match" in client.get(url, {"date_from": tomorrow}).content.decode()


def test_a_filter_that_makes_no_sense_is_shown_beside_its_field(client, auditor, books_with_an_allotment):
    issuer = books_with_an_allotment.issue.issuer
    client.force_login(auditor)
    url = f"/auditor/issuers/{issuer.pk}/ledger/"
    response = client.get(url, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_date_to-error">The period ends before it starts.' in page
    assert "Correct the filters above" in page
    for nonsense in ({"kind": "theft"}, {"issue": "999999"}, {"date_from": "yesterday"}, {"issue": "x"}):
        response = client.get(url, nonsense)
        assert response.status_code == 200 and "field-error" in response.content.decode(), nonsense


def test_pages_keep_their_filters(client, auditor, books_with_an_allotment, monkeypatch):
    monkeypatch.setattr(views_auditor, "PAGE_SIZE", 1)
    issuer = books_with_an_allotment.issue.issuer
    client.force_login(auditor)
    page = client.get(f"/auditor/issuers/{issuer.pk}/ledger/", {"issue": books_with_an_allotment.issue_id})
    assert f'href="?issue={books_with_an_allotment.issue_id}&amp;page=2"' in page.content.decode()
    last = client.get(f"/auditor/issuers/{issuer.pk}/ledger/", {"page": "9999"})
    assert last.status_code == 200  # past the end: the last page


@pytest.mark.parametrize("path", ["ledger", "decisions"])
def test_only_the_issuers_readers_see_its_books(
    client, path, officer, auditor, outsider, staff, books_with_an_allotment
):
    url = f"/auditor/issuers/{books_with_an_allotment.issue.issuer_id}/{path}/"
    assert client.get(url).status_code == 302  # sign in first
    for reader in (auditor, officer, staff):
        client.force_login(reader)
        assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(auditor)
    assert client.get("/auditor/issuers/999999/ledger/").status_code == 404


def test_the_decision_log_filters_by_rule_outcome_and_issue(
    client, auditor, society, officer, resident, open_issue, books_with_an_allotment
):
    other = open_issue(society, officer, name="Kelham Island Solar Bond")
    client.force_login(resident)
    client.post(f"/issues/{other.pk}/", {"amount": "6000", "payment_method": "bank_transfer"})  # over the cap
    client.force_login(auditor)
    url = f"/auditor/issuers/{society.pk}/decisions/"
    page = client.get(url).content.decode()
    assert "subscription caps" in page and "Denied" in page and "Allowed" in page
    denied = client.get(url, {"outcome": "deny"}).content.decode()
    assert "1 decision matches these filters" in denied and "Denied" in denied
    of_issue = client.get(
        url, {"issue": books_with_an_allotment.issue_id, "outcome": "deny"}
    ).content.decode()
    assert "0 decisions match" in of_issue
    by_rule = client.get(url, {"rule": "rate_cap"}).content.decode()
    assert "2 decisions match" in by_rule  # each issue's rate, checked as it opened
    assert 'id="id_rule-error"' in client.get(url, {"rule": "made_up"}).content.decode()


def test_the_books_page_links_to_the_browser_the_log_and_the_statements(client, auditor, society):
    client.force_login(auditor)
    page = client.get(f"/auditor/issuers/{society.pk}/").content.decode()
    for link in ("ledger/", "decisions/", "statements/"):
        assert f'href="/auditor/issuers/{society.pk}/{link}"' in page
