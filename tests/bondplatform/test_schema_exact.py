"""The schema says what the service does: error answers with their codes, money, ids, nullability, security."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from bondplatform.schema import MONEY_IN_NONZERO_PATTERN, MONEY_OUT_PATTERN

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def codes(operation, status: int) -> list[str]:
    response = operation["responses"].get(str(status))
    if response is None:
        return []
    return response["content"]["application/json"]["schema"]["properties"]["code"]["enum"]


def test_every_operation_documents_its_error_answers_in_the_one_shape(schema):
    for name, operation in operations(schema):
        errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
        assert 503 in errors, name
        for status, response in errors.items():
            body = response["content"]["application/json"]["schema"]
            assert body["required"] == ["code", "detail", "fields"], (name, status)
            assert body["properties"]["code"]["enum"], (name, status)
            assert all(f"`{c}`" in response["description"] for c in body["properties"]["code"]["enum"])
        if "{" in name:
            assert 404 in errors, name
        if "requestBody" in operation:
            assert {"invalid", "malformed_request"} <= set(codes(operation, 400)), name
            assert codes(operation, 415) == ["unsupported_media_type"], name


def test_the_refusal_codes_of_api_md_are_listed(schema):
    subscribe = schema["paths"]["/api/v1/issues/{issue_id}/subscriptions/"]["post"]
    assert set(codes(subscribe, 422)) >= {
        "below_minimum",
        "cap_exceeded_per_investor",
        "cap_exceeded_issuer_aggregate",
        "issue_full",
        "not_eligible",
        "payment_method_unavailable",
    }
    assert "issue_not_open" in codes(subscribe, 409)
    assert "rate_cap_exceeded" in codes(schema["paths"]["/api/v1/issues/{issue_id}/open/"]["post"], 422)
    assert "not_yet_mature" in codes(schema["paths"]["/api/v1/issues/{issue_id}/mature/"]["post"], 409)
    redemption = schema["paths"]["/api/v1/holdings/{holding_id}/redemption-requests/"]["post"]
    assert "exceeds_principal" in codes(redemption, 422)
    assert codes(schema["paths"]["/api/v1/issues/"]["get"], 400) == ["invalid_query"]


def test_security_is_exact(schema):
    for name, operation in operations(schema):
        security = operation.get("security", [])
        if "not_authenticated" in codes(operation, 401):
            assert security and {} not in security, name
    assert {} in schema["paths"]["/api/v1/issues/"]["get"]["security"]
    assert {} not in schema["paths"]["/api/v1/issues/"]["post"]["security"]
    assert {} not in schema["paths"]["/api/v1/issues/{issue_id}/open/"]["post"]["security"]
    assert "security" not in schema["paths"]["/api/v1/payments/stripe/webhook/"]["post"] or schema["paths"][
        "/api/v1/payments/stripe/webhook/"
    ]["post"]["security"] in ([], [{}])


def test_ids_start_at_one(schema):
    for name, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" or parameter["name"] in {"issuer", "issue"}:
                assert parameter["schema"]["minimum"] == 1, (name, parameter["name"])


def test_money_has_its_patterns_and_allotted_on_is_nullable(schema):
    components = schema["components"]["schemas"]
    issue, issue_in = components["BondIssue"]["properties"], components["BondIssueRequest"]["properties"]
    assert issue["allotted_on"]["nullable"] is True
    for name in ("raised", "committed", "remaining", "min_subscription", "max_raise"):
        assert issue[name]["pattern"] == MONEY_OUT_PATTERN, name
    assert issue_in["max_raise"]["pattern"] == MONEY_IN_NONZERO_PATTERN
    money = re.compile(MONEY_IN_NONZERO_PATTERN)
    assert all(money.match(a) for a in ("0.01", "0.1", "5", "250.00", "99999999999999.99"))
    assert not any(money.match(a) for a in ("0", "0.00", "0.0", "-1.00", "1.234", "1e3", "", "01.00"))
    out = re.compile(MONEY_OUT_PATTERN)
    assert out.match("-1.50") and out.match("0.00") and not out.match("1.5")
    posting = components["PostingOut"]["properties"]
    assert posting["debit"]["pattern"] == MONEY_OUT_PATTERN


def test_a_view_keeps_the_refusals_of_the_view_it_extends(schema):
    # `investments.api.decisions` extends `compliance.api`'s views with the `issue` filter.
    for path in ("/api/v1/compliance/decisions/", "/api/v1/compliance/decisions.csv"):
        operation = schema["paths"][path]["get"]
        assert codes(operation, 403) == ["not_an_officer_or_auditor", "two_factor_required"], path
        assert codes(operation, 404) == ["issuer_not_found"], path


def test_text_in_is_what_drf_takes(schema):
    components = schema["components"]["schemas"]
    distribution = components["DistributionInRequest"]["properties"]
    not_blank = re.compile(distribution["purpose"]["pattern"])
    assert not_blank.search("Rent of the hall") and not_blank.search(" x\n")
    assert not any(not_blank.search(text) for text in ("", " \n\t", "\x00", "rent\x00"))
    may_be_blank = distribution["invoice_reference"]["oneOf"]
    assert {"type": "string", "maxLength": 0} in may_be_blank
    text = re.compile(may_be_blank[0]["pattern"])
    assert text.search("INV-1") and not text.search("INV\x00") and not text.search("")


def test_answers_that_may_be_null_or_blank_say_so(schema):
    components = schema["components"]["schemas"]
    job = components["StatementJob"]["properties"]
    assert job["finished_at"]["nullable"] is True and job["date_from"]["nullable"] is True
    assert {"type": "string", "maxLength": 0} in components["UseOfFunds"]["properties"]["evidence_url"][
        "oneOf"
    ]
    for name in ("_Line", "_HoldingYear", "_CertificateLine"):
        money = [
            f for f, p in components[name]["properties"].items() if p.get("pattern") == MONEY_OUT_PATTERN
        ]
        assert len(money) >= 4, name


def test_every_idempotency_key_is_documented_with_the_length_the_service_takes(schema):
    keyed = {
        name: parameter["schema"]
        for name, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    }
    # API.md: subscribe, record-payment, interest run, redemption, distribution; and mark-sent.
    assert {
        "POST /api/v1/issues/{issue_id}/subscriptions/",
        "POST /api/v1/subscriptions/{subscription_id}/record-payment/",
        "POST /api/v1/issues/{issue_id}/interest-runs/",
        "POST /api/v1/holdings/{holding_id}/redemption-requests/",
        "POST /api/v1/issuers/{issuer_id}/distributions/",
        "POST /api/v1/payout-batches/{batch_id}/mark-sent/",
    } <= set(keyed)
    assert all(header["maxLength"] == 100 for header in keyed.values()), keyed


@pytest.mark.django_db
def test_a_post_without_a_body_documents_the_400_of_a_bad_idempotency_key(schema, officer, api_client_for):
    operation = schema["paths"]["/api/v1/payout-batches/{batch_id}/mark-sent/"]["post"]
    assert "requestBody" not in operation
    assert "invalid" in codes(operation, 400)
    response = api_client_for(officer).post(
        "/api/v1/payout-batches/1/mark-sent/", HTTP_IDEMPOTENCY_KEY="k" * 101
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
