"""JSON input is taken as typed (`bondplatform.strict`): regressions found by the schema fuzz test.

Schemathesis sent `{"reason": 0}` to approve a redemption and got 200 (DRF read
the number as the text "0"), and `reinvestment_allowed: 1` to create an issue
and got 201. The schema says text and booleans; a number there is a client's
bug, now refused with 400 like any other bad input.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from investments.services.redemptions import redemption_request_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": 2027}, "name"),
        ({"description": 1.5}, "description"),
        ({"reinvestment_allowed": 1}, "reinvestment_allowed"),
        ({"reinvestment_allowed": "yes"}, "reinvestment_allowed"),
        ({"coupon_rate_percent": 4.5}, "coupon_rate_percent"),
        ({"coupon_rate_percent": 4}, "coupon_rate_percent"),
    ],
)
def test_numbers_are_not_text_or_yes_and_rates_are_strings(
    officer, society, change, field, api_client_for, assert_error, terms_body
):
    response = api_client_for(officer).post(
        "/api/v1/issues/", {**terms_body(society), **change}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert field in body["fields"]


def test_money_as_a_json_number_is_invalid_amount(officer, society, api_client_for, assert_error, terms_body):
    response = api_client_for(officer).post(
        "/api/v1/issues/", {**terms_body(society), "max_raise": 20000}, format="json"
    )
    body = assert_error(response, 400, "invalid_amount")
    assert "max_raise" in body["fields"]


def test_the_same_body_typed_as_the_schema_says_is_taken(officer, society, api_client_for, terms_body):
    response = api_client_for(officer).post(
        "/api/v1/issues/",
        {**terms_body(society), "reinvestment_allowed": True, "coupon_rate_percent": "4.50"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["coupon_rate_percent"] == "4.50"


def test_a_redemption_decision_needs_a_reason_in_words(
    officer, resident, allotted_holding, api_client_for, assert_error
):
    # Who asks and what they ask about come first (401, 404, 403); then the body: a number is not words.
    holding = allotted_holding(allotted_on=timezone.localdate() - dt.timedelta(days=30))
    request, _ = redemption_request_create(actor=resident, holding_id=holding.pk, amount_pence=100_00)
    response = api_client_for(officer).post(
        f"/api/v1/redemption-requests/{request.pk}/approve/", {"reason": 0}, format="json"
    )
    assert_error(response, 400, "invalid")
