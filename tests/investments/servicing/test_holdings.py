"""A resident's holdings: what they see, how they choose to take their interest, the HMRC return."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine

from bondplatform.spreadsheets import safe_cell
from investments.interest import add_months
from investments.models import Holding
from people.models import Profile

pytestmark = pytest.mark.django_db


def after(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


@pytest.fixture
def prefer(api_client_for):
    def prefer(user, holding, preference):
        return api_client_for(user).post(
            f"/api/v1/holdings/{holding.pk}/interest-preference/", {"preference": preference}, format="json"
        )

    return prefer


def test_my_holdings_show_principal_interest_and_the_next_coupon(
    society, officer, resident, allot, run_interest, api_client_for
):
    issue, h = allot(society, officer, {resident: "1000.00"})
    body = api_client_for(resident).get("/api/v1/me/holdings/").json()
    assert body["count"] == 1
    (mine,) = body["results"]
    assert {k: mine[k] for k in ("id", "issue", "principal", "interest_paid", "interest_waived")} == {
        "id": h["rita_resident"].pk,
        "issue": issue.pk,
        "principal": "1000.00",
        "interest_paid": "0.00",
        "interest_waived": "0.00",
    }
    first = add_months(issue.allotted_on, 12)
    assert (mine["next_coupon_date"], mine["next_coupon_estimate"]) == (first.isoformat(), "40.00")
    assert (mine["tax_withheld"], mine["payout_pending"], mine["interest_preference"], mine["status"]) == (
        "0.00",
        "0.00",
        "pay",
        "active",
    )

    with after(first):
        run_interest(officer, issue, first)
        mine = api_client_for(resident).get("/api/v1/me/holdings/").json()["results"][0]
    assert (mine["interest_paid"], mine["payout_pending"]) == ("40.00", "40.00")
    # The second year holds 29 February 2028: 40.11.
    assert (mine["next_coupon_date"], mine["next_coupon_estimate"]) == (
        add_months(issue.allotted_on, 24).isoformat(),
        "40.11",
    )


def test_each_resident_sees_only_their_own_holdings(
    society, officer, resident, outsider, allot, api_client_for
):
    allot(society, officer, {resident: "1000.00"})
    assert api_client_for(outsider).get("/api/v1/me/holdings/").json()["count"] == 0
    assert api_client_for(None).get("/api/v1/me/holdings/").status_code == 401


def test_the_holder_chooses_how_interest_is_applied(
    society, officer, resident, outsider, allot, prefer, assert_error
):
    _, h = allot(society, officer, {resident: "1000.00"}, reinvestment_allowed=True)
    holding = h["rita_resident"]
    for preference in ("waive", "reinvest", "pay"):
        response = prefer(resident, holding, preference)
        assert response.status_code == 200, response.content
        assert response.json()["interest_preference"] == preference
        holding.refresh_from_db()
        assert holding.interest_preference == preference
    # Another person's holding does not exist for them (404); its issuer's officer sees it but may not choose.
    assert_error(prefer(outsider, holding, "waive"), 404, "holding_not_found")
    assert_error(prefer(officer, holding, "waive"), 403, "not_yours")
    assert prefer(None, holding, "waive").status_code == 401
    assert_error(prefer(resident, holding, "donate"), 400, "invalid")
    assert_error(prefer(resident, Holding(pk=999999), "pay"), 404, "holding_not_found")


def test_reinvesting_needs_terms_that_allow_it(society, officer, resident, allot, assert_error, prefer):
    _, h = allot(society, officer, {resident: "1000.00"})
    assert_error(prefer(resident, h["rita_resident"], "reinvest"), 422, "reinvestment_not_allowed")
    h["rita_resident"].refresh_from_db()
    assert h["rita_resident"].interest_preference == "pay"


def test_a_waiver_shows_as_interest_waived(
    society, officer, resident, allot, run_interest, prefer, api_client_for
):
    issue, h = allot(society, officer, {resident: "1000.00"})
    assert prefer(resident, h["rita_resident"], "waive").status_code == 200
    first = add_months(issue.allotted_on, 12)
    with after(first):
        run_interest(officer, issue, first)
    mine = api_client_for(resident).get("/api/v1/me/holdings/").json()["results"][0]
    assert (mine["interest_paid"], mine["interest_waived"], mine["payout_pending"]) == (
        "0.00",
        "40.00",
        "0.00",
    )


def test_the_hmrc_return_names_everyone_paid_15_pounds_or_more(
    society, officer, auditor, make_user, allot, run_interest, assert_error, api_client_for
):
    formula = make_user("eve", full_name='=HYPERLINK("http://x")', postcode="S2 1AA")
    small = make_user("sam", full_name="Sam Small", postcode="S3 1AA")
    waiver = make_user("wan", full_name="Wan Waiver", postcode="S4 1AA")
    issue, h = allot(society, officer, {formula: "1000.00", small: "374.99", waiver: "1000.00"})
    Holding.objects.filter(pk=h["wan"].pk).update(interest_preference="waive")
    first = add_months(issue.allotted_on, 12)
    with after(first):
        run_interest(officer, issue, first)
        url = f"/api/v1/issuers/{society.pk}/interest-return.csv?from={first}&to={first}"
        response = api_client_for(officer).get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        # Sam's 374.99 x 4 % = 15.00 (14.9996): at the threshold, included; the waiver is not paid.
        assert rows == [
            ["name", "postcode", "gross_interest", "currency", "period_from", "period_to"],
            ['\'=HYPERLINK("http://x")', "S2 1AA", "40.00", "GBP", str(first), str(first)],
            ["Sam Small", "S3 1AA", "15.00", "GBP", str(first), str(first)],
        ]
        before = api_client_for(officer).get(
            f"/api/v1/issuers/{society.pk}/interest-return.csv?from={issue.allotted_on}&to={first - dt.timedelta(days=1)}"
        )
        assert len(list(csv.reader(io.StringIO(before.content.decode())))) == 1
        assert_error(api_client_for(auditor).get(url), 403, "not_an_officer")
        assert_error(api_client_for(formula).get(url), 403, "not_an_officer")
        assert api_client_for(None).get(url).status_code == 401
        assert_error(
            api_client_for(officer).get(f"/api/v1/issuers/{society.pk}/interest-return.csv"),
            400,
            "invalid_query",
        )
        bad = f"/api/v1/issuers/{society.pk}/interest-return.csv?from={first}&to={issue.allotted_on}"
        assert_error(api_client_for(officer).get(bad), 400, "invalid_query")
        assert_error(
            api_client_for(officer).get(
                f"/api/v1/issuers/999999/interest-return.csv?from={first}&to={first}"
            ),
            404,
            "issuer_not_found",
        )


@pytest.mark.parametrize(
    "text, shown",
    [("=1+1", "'=1+1"), ("+44", "'+44"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("Ann", "Ann"), ("", "")],
)
def test_spreadsheet_cells_never_start_a_formula(text, shown):
    assert safe_cell(text) == shown


def test_a_resident_without_a_profile_is_named_by_username(
    society, officer, make_user, allot, run_interest, api_client_for
):
    holder = make_user("plain")
    issue, _ = allot(society, officer, {holder: "1000.00"})
    Profile.objects.filter(user=holder).delete()
    first = add_months(issue.allotted_on, 12)
    with after(first):
        run_interest(officer, issue, first)
        rows = (
            api_client_for(officer)
            .get(f"/api/v1/issuers/{society.pk}/interest-return.csv?from={first}&to={first}")
            .content.decode()
        )
    assert "plain,,40.00" in rows
