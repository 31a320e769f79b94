"""Sign-in rate limits per client address, and lock-out per account (issue 9, finding 1)."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
TOKEN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"


@pytest.fixture
def five_a_minute(monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"sign_in": "5/min"})


def token_from(address_header: str | None, username: str, password: str = PASSWORD, **extra):
    headers = {"HTTP_X_FORWARDED_FOR": address_header} if address_header else {}
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", **headers, **extra
    )


class TestClientAddress:
    def test_a_made_up_forwarded_for_header_does_not_make_a_new_client(self, five_a_minute, resident):
        answers = [token_from(f"203.0.113.{n}", "rita_resident").status_code for n in range(5)]
        assert answers == [200] * 5

        limited = token_from("203.0.113.99", "rita_resident")

        assert_error(limited, 429, "throttled")
        assert "Retry-After" in limited.headers

    def test_the_sign_in_page_ignores_the_header_too(self, five_a_minute, client, resident):
        for n in range(5):
            client.post(
                "/accounts/login/",
                {"username": "rita_resident", "password": "wrong"},
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
            )
        page = client.post(
            "/accounts/login/",
            {"username": "rita_resident", "password": PASSWORD},
            HTTP_X_FORWARDED_FOR="198.51.100.200",
        )
        assert "Too many sign-in attempts" in page.content.decode()

    def test_registration_is_limited_whatever_the_header_says(self, five_a_minute):
        answers = [
            APIClient().post(REGISTER, {}, format="json", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
            for n in range(6)
        ]
        assert answers == [400] * 5 + [429]

    def test_behind_one_proxy_the_address_it_saw_is_the_client(self, five_a_minute, settings, resident):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        # The proxy appends the address it saw: whatever the client put before it is ignored.
        for n in range(5):
            assert token_from(f"10.9.9.{n}, 203.0.113.7", "rita_resident").status_code == 200
        assert_error(token_from("10.9.9.99, 203.0.113.7", "rita_resident"), 429, "throttled")
        # Another client behind the same proxy has its own budget.
        assert token_from("203.0.113.8", "rita_resident").status_code == 200
