"""The rate cap on opening an issue, by legal form: just inside and just outside each limit.

Every issuer's coupon is capped by the maximum its rules declare; a CIC's
performance-related interest also by 20 % a year (CIC Regulations 2005 reg 21
as amended 2014), the most a CIC may declare at all.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from compliance.models import Decision, Outcome
from issuers.models import Issuer, RoleGrant

pytestmark = pytest.mark.django_db

FORMS = [
    ("community_benefit_society", "statutory"),
    ("cooperative_society", "articles"),
    ("cic_limited_by_shares", "cic"),
    ("cic_limited_by_guarantee", "cic"),
    ("charity", "articles"),
    ("company_limited_by_guarantee", "none"),
]


@pytest.fixture
def issuer_with_officer(make_user):
    def make(legal_form: str, basis: str, max_rate: str):
        issuer = Issuer.objects.create(
            name=f"{legal_form} issuer",
            legal_form=legal_form,
            asset_lock_basis=basis,
            max_interest_rate_percent=Decimal(max_rate),
        )
        officer = make_user(f"officer_{Issuer.objects.count()}", resident=False)
        RoleGrant.objects.create(issuer=issuer, user=officer, role="finance_officer")
        return issuer, officer

    return make


@pytest.fixture
def open_at(make_issue, api_client_for):
    def open_at(issuer, officer, rate: str, *, performance_related: bool = False):
        issue = make_issue(
            issuer,
            officer,
            open_it=False,
            coupon_rate_percent=Decimal(rate),
            performance_related=performance_related,
        )
        return issue, api_client_for(officer).post(f"/api/v1/issues/{issue.pk}/open/")

    return open_at


@pytest.mark.parametrize(("legal_form", "basis"), FORMS, ids=[f for f, _ in FORMS])
@pytest.mark.parametrize("performance_related", [False, True], ids=["fixed", "performance_related"])
def test_the_coupon_is_capped_by_the_issuers_declared_maximum(
    legal_form, basis, performance_related, issuer_with_officer, open_at, assert_error
):
    issuer, officer = issuer_with_officer(legal_form, basis, "5.00")
    _, inside = open_at(issuer, officer, "5.00", performance_related=performance_related)
    assert inside.status_code == 200, inside.content
    issue, outside = open_at(issuer, officer, "5.01", performance_related=performance_related)
    body = assert_error(outside, 422, "rate_cap_exceeded")
    assert body["cap_percent"] == "5.00"
    assert "declared maximum" in body["detail"]
    denied = Decision.objects.get(issuer=issuer, rule="rate_cap", outcome=Outcome.DENY)
    assert denied.subject_id == str(issue.pk)
    assert denied.context["performance_related"] is performance_related


@pytest.mark.parametrize("legal_form", ["cic_limited_by_shares", "cic_limited_by_guarantee"])
def test_a_cics_performance_related_interest_is_capped_at_20_percent(
    legal_form, issuer_with_officer, open_at, assert_error
):
    issuer, officer = issuer_with_officer(legal_form, "cic", "20.00")
    _, inside = open_at(issuer, officer, "20.00", performance_related=True)
    assert inside.status_code == 200, inside.content
    _, outside = open_at(issuer, officer, "20.01", performance_related=True)
    body = assert_error(outside, 422, "rate_cap_exceeded")
    assert body["cap_percent"] == "20.00"
    assert "reg 21 as amended 2014 (performance-related interest" in body["detail"]


def test_the_20_percent_holds_even_where_a_cic_declared_more(issuer_with_officer, open_at, assert_error):
    # A declaration from before the check at creation, or made in the admin: the law still caps it.
    issuer, officer = issuer_with_officer("cic_limited_by_shares", "cic", "25.00")
    assert open_at(issuer, officer, "20.00", performance_related=True)[1].status_code == 200
    body = assert_error(
        open_at(issuer, officer, "20.01", performance_related=True)[1], 422, "rate_cap_exceeded"
    )
    assert "performance-related interest" in body["detail"]
    assert "declared maximum" not in body["detail"]  # 20.01 % is within what it declared
    assert_error(open_at(issuer, officer, "20.01")[1], 422, "rate_cap_exceeded")


def test_a_society_has_no_statutory_cap_on_performance_related_interest(issuer_with_officer, open_at):
    issuer, officer = issuer_with_officer("community_benefit_society", "statutory", "25.00")
    assert open_at(issuer, officer, "24.00", performance_related=True)[1].status_code == 200


def test_performance_related_is_a_term_of_the_issue(society, officer, terms_body, api_client_for):
    created = api_client_for(officer).post(
        "/api/v1/issues/", terms_body(society, performance_related=True), format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["performance_related"] is True
    plain = api_client_for(officer).post("/api/v1/issues/", terms_body(society), format="json").json()
    assert plain["performance_related"] is False
