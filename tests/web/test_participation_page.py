"""The public participation page: who lends to a mutual, in figures anyone can read, never a
group of fewer than 5 people, and linked from the places a resident would look for it."""

import re

import pytest
from django.utils import timezone

from bondplatform.templatetags.dates import day

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(society, officer, make_user, make_issue, subscribe, record_payment):
    """Eleven paid investors: three in S1 and three in S2 (local, to an offer open to S
    postcodes), and five in M1 (to an offer open to anyone)."""
    local_offer = make_issue(society, officer, name="Citylife Local Bond", eligible_postcode_prefixes=["S"])
    open_offer = make_issue(society, officer, name="Citylife Open Bond")
    people = [("S1 1AA", "100.00")] * 3 + [("S2 2BB", "450.00")] * 3 + [("M1 1AA", "1000.00")] * 5
    for k, (code, amount) in enumerate(people):
        person = make_user(f"lender_{k}", full_name=f"Lender Number{k}", postcode=code)
        body = subscribe(person, local_offer if code.startswith("S") else open_offer, amount).json()
        paid = record_payment(officer, body["id"], amount, body["payment"]["reference"], key=f"k{k}")
        assert paid.status_code == 200
    return local_offer, open_offer


def _cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, element_id
    return match.group(1).strip()


def test_the_page_shows_the_audit_as_figures_in_words(client, society, crowd):
    local_offer, _ = crowd
    response = client.get(f"/issuers/{society.pk}/participation/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Who lends to Sheffield Citylife Society" in html
    assert f"as at {day(timezone.localdate())}" in html
    assert _cell(html, "investor-count") == "11"
    # S1 (3) and S2 (3) are too small alone: they are shown together, never apart.
    districts = html[html.index('id="districts"') : html.index("</table>", html.index('id="districts"'))]
    assert re.search(
        r"<th scope=\"row\">M1</th>\s*<td class=\"num\">5</td>\s*<td class=\"num\">45 %</td>", districts
    )
    assert re.search(r"Other districts, together</th>\s*<td class=\"num\">6</td>", districts)
    assert "S1" not in districts and "S2" not in districts
    # Quartiles of each investor's money, as money, right-aligned.
    for amount in ("£275.00", "£450.00", "£1,000.00"):
        assert f'<td class="money">{amount}</td>' in html
    assert _cell(html, "median") == "£450.00"
    assert _cell(html, "under-500") == "55 %"  # 6 of 11
    assert _cell(html, "local-share") == "25 %"  # £1,650.00 of £6,650.00 came from S postcodes
    assert "from postcodes starting S" in html
    # Every one of the eleven is a first-timer: the 0 others are no group to hide.
    assert _cell(html, "first-time") == "11"
    # The offers counted, with the day each opened in words.
    assert f'href="/issues/{local_offer.pk}/"' in html
    assert day(local_offer.opens_at) in html
    # Nobody is named, and no full postcode is shown.
    assert "Lender Number" not in html and "S1 1AA" not in html and "M1 1AA" not in html


def test_a_small_crowd_shows_no_figure_that_could_point_at_someone(
    client, society, officer, resident, make_issue, subscribe, record_payment
):
    issue = make_issue(society, officer)
    body = subscribe(resident, issue, "250.00").json()
    assert record_payment(officer, body["id"], "250.00", body["payment"]["reference"]).status_code == 200
    html = client.get(f"/issuers/{society.pk}/participation/").content.decode()
    assert _cell(html, "investor-count") == "fewer than 5"
    assert "fewer than 5 people have invested so far" in html
    assert _cell(html, "median") == "not shown"
    assert 'id="sizes"' in html and '<table id="sizes"' not in html
    # Her amount appears only as the offer's total, further down.
    assert "£250.00" not in html.split('id="issues-heading"')[0]
    assert "S1 2AB" not in html and "Rita" not in html


def test_the_page_is_linked_from_the_offer_and_its_transparency_page(client, society, crowd):
    local_offer, _ = crowd
    link = f'href="/issuers/{society.pk}/participation/"'
    assert link in client.get(f"/issues/{local_offer.pk}/").content.decode()
    assert link in client.get(f"/issues/{local_offer.pk}/transparency/").content.decode()


def test_an_unknown_issuer_is_a_404_in_the_sites_style(client):
    response = client.get("/issuers/999999/participation/")
    assert response.status_code == 404
    assert "We cannot find that page" in response.content.decode()
