"""Ids reveal nothing: who asks is checked first (401), then anything they may not see is 404,
exactly as if it did not exist, never 403 (security issue, finding 7)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_subscription(api_client_for):
    def subscribe(user, issue):
        return (
            api_client_for(user)
            .post(
                f"/api/v1/issues/{issue.pk}/subscriptions/",
                {"amount": "250.00", "payment_method": "bank_transfer"},
                format="json",
            )
            .json()
        )

    return subscribe


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/subscriptions/{id}/record-payment/", {"amount": "x"}),
        ("post", "/api/v1/subscriptions/999999/record-payment/", {}),
        ("post", "/api/v1/refunds/999999/mark-sent/", {}),
        ("post", "/api/v1/subscriptions/{id}/cancel/", {}),
    ],
)
def test_nobody_is_asked_to_sign_in_before_anything_else(
    society, officer, resident, method, path, body, new_subscription, make_issue
):
    subscription = new_subscription(resident, make_issue(society, officer))
    response = getattr(APIClient(), method)(path.format(id=subscription["id"]), body, format="json")
    assert response.status_code == 401


def test_someone_elses_subscription_answers_exactly_like_a_missing_one(
    society, officer, resident, outsider, new_subscription, api_client_for, make_issue
):
    subscription = new_subscription(resident, make_issue(society, officer))
    outsiders = api_client_for(outsider)
    for path in ("/api/v1/subscriptions/{}/cancel/", "/api/v1/subscriptions/{}/record-payment/"):
        theirs = outsiders.post(path.format(subscription["id"]), {}, format="json")
        missing = outsiders.post(path.format(999_999), {}, format="json")
        assert (
            (theirs.status_code, theirs.json())
            == (missing.status_code, missing.json())
            == (
                404,
                {"code": "subscription_not_found", "detail": "No such subscription.", "fields": {}},
            )
        )
