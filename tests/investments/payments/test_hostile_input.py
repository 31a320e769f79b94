"""Hostile input to the payment endpoints (issue 9, finding 12): bounded, and never a 500.

- a signed webhook body nested 100,000 deep was a 500: JSON deeper than 64 is refused;
- webhook timestamps from the future were accepted: at most five minutes ahead;
- `received_on` took any date from year 1 to 9999: from a week before the offer
  opened to today, else 400 `invalid_received_on`;
- an uploaded file was read whole, to disk, before sign-in was checked: a file past
  UPLOAD_MAX_FILE_SIZE is refused as it streams in (413 `file_too_large`), and the
  bank-statement API checks sign-in before it reads the body.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from investments.models import Receipt, StripeEvent

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/payments/stripe/webhook/"


def deliver(body: bytes, header: str):
    return APIClient().post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


class TestWebhookBodies:
    @pytest.fixture(autouse=True)
    def _secret(self, settings, stripe_webhook_secret):
        settings.STRIPE_WEBHOOK_SECRET = stripe_webhook_secret

    def test_a_signed_body_nested_100000_deep_is_400_not_500(self, assert_error, stripe_signature):
        body = b'{"id": "evt_deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

        body_json = assert_error(deliver(body, stripe_signature(body)), 400, "malformed_request")

        assert "nested" in body_json["detail"]
        assert not StripeEvent.objects.exists()

    def test_an_unsigned_deep_body_is_refused_for_its_signature(self, assert_error):
        body = b"[" * 100_000 + b"]" * 100_000
        assert_error(deliver(body, "t=1,v1=00"), 400, "invalid_signature")

    def test_an_event_nested_64_deep_is_still_an_event(self, stripe_event, stripe_signature):
        nested: dict = {"id": "cus_1"}
        for _ in range(60):
            nested = {"inner": nested}
        body = json.dumps(stripe_event("customer.created", nested)).encode()

        response = deliver(body, stripe_signature(body))

        assert response.status_code == 200, response.json()

    def test_a_timestamp_from_the_future_is_refused(self, assert_error, stripe_event, stripe_signature):
        body = json.dumps(stripe_event("customer.created", {"id": "cus_1"})).encode()

        assert_error(
            deliver(body, stripe_signature(body, timestamp=int(time.time()) + 301)), 400, "invalid_signature"
        )
        assert not StripeEvent.objects.exists()
        # A clock a minute fast is only a clock a minute fast.
        assert deliver(body, stripe_signature(body, timestamp=int(time.time()) + 60)).status_code == 200


class TestReceivedOn:
    @pytest.fixture
    def pending(self, society, officer, resident, make_issue, subscribe):
        issue = make_issue(society, officer, opens_at=timezone.now() - dt.timedelta(days=30))
        return subscribe(resident, issue, "250.00").json()

    @pytest.mark.parametrize(
        "received_on",
        ["0001-01-01", "9999-12-31", "tomorrow", "38 days ago"],
    )
    def test_a_date_money_cannot_have_arrived_on_is_400(
        self, officer, pending, received_on, assert_error, record_payment
    ):
        today = timezone.localdate()
        if received_on == "tomorrow":
            received_on = (today + dt.timedelta(days=1)).isoformat()
        elif received_on == "38 days ago":  # the offer opened 30 days ago: a week's grace before that
            received_on = (today - dt.timedelta(days=38)).isoformat()

        response = record_payment(
            officer, pending["id"], "250.00", pending["payment"]["reference"], received_on=received_on
        )

        body = assert_error(response, 400, "invalid_received_on")
        assert "received_on" in body["fields"]
        assert not Receipt.objects.exists()

    @pytest.mark.parametrize("days_ago", [0, 37])
    def test_today_and_a_week_before_the_offer_opened_are_taken(
        self, officer, pending, days_ago, record_payment
    ):
        received_on = (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()

        response = record_payment(
            officer, pending["id"], "250.00", pending["payment"]["reference"], received_on=received_on
        )

        assert response.status_code == 200, response.json()
        assert Receipt.objects.get().received_on.isoformat() == received_on

    def test_a_bank_statement_line_dated_in_the_future_is_listed_not_recorded(
        self, officer, society, pending, api_client_for
    ):
        tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
        content = f"date,amount,reference\n{tomorrow},250.00,{pending['payment']['reference']}\n".encode()

        report = upload(api_client_for(officer), society, content).json()

        assert [error["code"] for error in report["errors"]] == ["invalid_received_on"]
        assert not Receipt.objects.exists()


def upload(client, issuer, content: bytes):
    return client.post(
        f"/api/v1/issuers/{issuer.pk}/bank-statements/",
        {"file": SimpleUploadedFile("statement.csv", content, content_type="text/csv")},
        format="multipart",
    )


def statement_of(size: int) -> bytes:
    line = b"2026-11-20,1.00,MBXXXXXXXX\n"
    return b"date,amount,reference\n" + line * (size // len(line) + 1)


class TestUploadSizes:
    @pytest.fixture(autouse=True)
    def _small_limits(self, settings):
        settings.UPLOAD_MAX_FILE_SIZE = 4_000
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000

    @pytest.mark.parametrize("size", [5_000, 50_000], ids=["past-the-file-limit", "past-the-body-limit"])
    def test_a_file_past_the_limit_is_413(self, officer, society, size, api_client_for, assert_error):
        response = upload(api_client_for(officer), society, statement_of(size))

        body = assert_error(response, 413, "file_too_large")
        assert "at most" in body["detail"]

    def test_a_file_within_the_limit_is_read(self, officer, society, api_client_for):
        response = upload(api_client_for(officer), society, statement_of(3_000))
        assert response.status_code == 200, response.json()

    def test_sign_in_is_checked_before_the_body_is_read(self, society, assert_error):
        """Anonymous: 401, not 413, so the file was never read."""
        assert_error(upload(APIClient(), society, statement_of(50_000)), 401, "not_authenticated")

    def test_the_officer_page_says_the_file_is_too_large(self, officer, society):
        page = Client()
        page.force_login(officer)

        response = page.post(
            f"/officer/issuers/{society.pk}/bank-statement/",
            {"file": SimpleUploadedFile("statement.csv", statement_of(5_000), content_type="text/csv")},
        )

        assert response.status_code == 413
        assert "That file is too large" in response.content.decode()
