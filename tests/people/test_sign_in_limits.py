"""Sign-in rate limits per client address, and lock-out per account (issue 9, finding 1)."""

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from bondplatform.models import AuditEvent
from people.models import SignInFailures

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
    def test_a_made_up_forwarded_for_header_does_not_make_a_new_client(
        self, five_a_minute, resident, assert_error
    ):
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

    def test_behind_one_proxy_the_address_it_saw_is_the_client(
        self, five_a_minute, settings, resident, assert_error
    ):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        # The proxy appends the address it saw: whatever the client put before it is ignored.
        for n in range(5):
            assert token_from(f"10.9.9.{n}, 203.0.113.7", "rita_resident").status_code == 200
        assert_error(token_from("10.9.9.99, 203.0.113.7", "rita_resident"), 429, "throttled")
        # Another client behind the same proxy has its own budget.
        assert token_from("203.0.113.8", "rita_resident").status_code == 200


# --- lock-out per account -----------------------------------------------------------


@pytest.fixture
def three_strikes(settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 3
    settings.SIGN_IN_LOCKOUT_SECONDS = 600


class TestLockOut:
    def test_repeated_wrong_passwords_lock_the_account_even_from_many_addresses(
        self, three_strikes, resident, outsider, assert_error
    ):
        for n in range(2):
            assert_error(
                token_from(None, "rita_resident", "guess", REMOTE_ADDR=f"10.0.0.{n}"),
                400,
                "invalid_credentials",
            )
        locked = token_from(None, "rita_resident", "guess", REMOTE_ADDR="10.0.0.3")

        body = assert_error(locked, 429, "account_locked")
        assert 590 <= int(locked["Retry-After"]) <= 601
        assert body["retry_after"] == int(locked["Retry-After"])
        # The right password gains nothing while locked, and says nothing either.
        assert_error(token_from(None, "rita_resident", REMOTE_ADDR="10.0.0.4"), 429, "account_locked")
        # Other accounts are not affected.
        assert token_from(None, "oscar_outsider").status_code == 200

    def test_the_lock_is_counted_in_the_database_and_audited(self, three_strikes, resident, assert_error):
        for _ in range(3):
            token_from(None, "RITA_RESIDENT", "guess")  # another case of the same name counts too

        row = SignInFailures.objects.get(username_key="rita_resident")
        assert row.locked_until is not None
        assert AuditEvent.objects.filter(action="sign_in.locked", system_actor="system").count() == 1
        assert_error(token_from(None, "rita_resident"), 429, "account_locked")

    def test_the_lock_ends_after_its_time_and_a_success_clears_the_count(
        self, three_strikes, resident, assert_error
    ):
        for _ in range(3):
            token_from(None, "rita_resident", "guess")
        with time_machine.travel(timezone.now() + timezone.timedelta(seconds=601)):
            assert token_from(None, "rita_resident").status_code == 200
            # Two more failures do not lock: the success cleared the count.
            for _ in range(2):
                assert_error(token_from(None, "rita_resident", "guess"), 400, "invalid_credentials")
            assert token_from(None, "rita_resident").status_code == 200

    def test_wrong_two_factor_codes_count_too(self, three_strikes, officer, two_factor_device_for):
        two_factor_device_for(officer)
        answers = [
            APIClient()
            .post(TOKEN, {"username": "olive_officer", "password": PASSWORD, "otp": "000000"}, format="json")
            .json()["code"]
            for _ in range(3)
        ]
        assert answers == ["invalid_otp", "invalid_otp", "account_locked"]

    def test_the_sign_in_page_and_the_admin_sign_in_share_the_lock(
        self, three_strikes, client, staff, assert_error
    ):
        for _ in range(2):
            client.post("/accounts/login/", {"username": "stella_staff", "password": "guess"})
        page = client.post("/admin/login/", {"username": "stella_staff", "password": "guess"})
        assert page.status_code == 429
        assert "Too many failed sign-ins for this account" in page.content.decode()
        page = client.post("/admin/login/", {"username": "stella_staff", "password": PASSWORD})
        assert page.status_code == 429
        assert "_auth_user_id" not in client.session
        assert_error(token_from(None, "stella_staff"), 429, "account_locked")
