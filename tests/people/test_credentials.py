"""Credentials that must not outlive a change, and two-factor sign-in per session (issue 9,
findings 2 and 3): tokens expire and can be revoked; setting up two-factor sign-in or
changing the password ends every other token and session; enrolling or removing an
authenticator needs the password; recovery codes; staff reset; the admin asks for the code."""

import time

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bondplatform.errors import NotPermitted
from bondplatform.models import AuditEvent
from people import totp
from people.models import AuthToken, RecoveryCode, TotpDevice
from people.services import two_factor

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
TWO_FACTOR = "/api/v1/me/two-factor/"


def sign_in(username, otp=None, password=PASSWORD):
    body = {"username": username, "password": password} | ({"otp": otp} if otp else {})
    return APIClient().post(TOKEN, body, format="json")


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def next_code(device) -> str:
    """A code the device has not used yet (each is good once)."""
    device.refresh_from_db()
    return totp.code_at(device.secret, (device.last_step or totp.step_of(time.time())) + 1)


class TestTokens:
    def test_a_token_expires_after_token_ttl(self, settings, resident, assert_error):
        settings.TOKEN_TTL = 3600
        answer = sign_in("rita_resident").json()
        client = with_token(answer["token"])
        assert client.get(ME).status_code == 200
        with time_machine.travel(timezone.now() + timezone.timedelta(seconds=3601)):
            assert_error(client.get(ME), 401, "authentication_failed")

    def test_the_answer_says_when_and_how_the_token_was_made(self, resident):
        answer = sign_in("rita_resident").json()
        assert set(answer) >= {"token", "expires_at", "two_factor"}
        assert answer["two_factor"] is False

    def test_only_a_digest_of_the_key_is_stored(self, resident):
        key = sign_in("rita_resident").json()["token"]
        assert not AuthToken.objects.filter(digest=key).exists()
        assert AuthToken.objects.filter(user=resident).count() == 1

    def test_logout_revokes_the_token(self, resident, assert_error):
        client = with_token(sign_in("rita_resident").json()["token"])
        response = client.post("/api/v1/auth/logout/")
        assert response.status_code == 204
        assert_error(client.get(ME), 401, "authentication_failed")

    def test_logout_needs_a_sign_in(self, assert_error):
        assert_error(APIClient().post("/api/v1/auth/logout/"), 401, "not_authenticated")

    def test_logout_ends_a_web_session(self, resident, assert_error):
        browser = APIClient()
        browser.force_login(resident)
        assert browser.post("/api/v1/auth/logout/").status_code == 204
        assert_error(browser.get(ME), 401, "not_authenticated")


class TestEnrolment:
    def test_enrolling_needs_the_current_password(self, resident, api_client_for, assert_error):
        client = api_client_for(resident)
        assert_error(client.post(TWO_FACTOR, {}, format="json"), 400, "invalid_password")
        assert_error(client.post(TWO_FACTOR, {"password": "guess"}, format="json"), 400, "invalid_password")
        assert not TotpDevice.objects.exists()
        assert client.post(TWO_FACTOR, {"password": PASSWORD}, format="json").status_code == 201

    def test_wrong_passwords_when_enrolling_count_towards_the_lock_out(
        self, settings, resident, api_client_for, assert_error
    ):
        settings.SIGN_IN_LOCKOUT_FAILURES = 2
        client = api_client_for(resident)
        client.post(TWO_FACTOR, {"password": "guess"}, format="json")
        assert_error(client.post(TWO_FACTOR, {"password": "guess"}, format="json"), 429, "account_locked")
        assert_error(sign_in("rita_resident"), 429, "account_locked")

    def test_setting_up_ends_every_other_token_and_session_and_keeps_the_one_that_did_it(
        self, officer, assert_error
    ):
        old_token = with_token(sign_in("olive_officer").json()["token"])
        old_session = Client()
        old_session.force_login(officer)
        enrolling = with_token(sign_in("olive_officer").json()["token"])

        started = enrolling.post(TWO_FACTOR, {"password": PASSWORD}, format="json").json()
        code = totp.code_at(started["secret"], totp.step_of(time.time()))
        confirmed = enrolling.post(f"{TWO_FACTOR}confirm/", {"otp": code}, format="json")

        assert confirmed.status_code == 200
        assert_error(old_token.get(ME), 401, "authentication_failed")
        assert old_session.get("/officer/").status_code == 302  # signed out: to the sign-in page
        assert enrolling.get(ME).status_code == 200
        # The token that enrolled gave the code: it may act as an officer.
        assert AuthToken.objects.get(user=officer).verified_device == TotpDevice.objects.get(user=officer)

    def test_a_web_session_that_enrols_carries_on_verified(self, officer, society):
        browser = APIClient(enforce_csrf_checks=False)
        browser.force_login(officer)
        started = browser.post(TWO_FACTOR, {"password": PASSWORD}, format="json").json()
        code = totp.code_at(started["secret"], totp.step_of(time.time()))
        assert browser.post(f"{TWO_FACTOR}confirm/", {"otp": code}, format="json").status_code == 200
        assert browser.get(f"/api/v1/ledger/verify/?issuer={society.pk}").status_code == 200

    def test_recovery_codes_are_given_once_stored_hashed_and_each_works_once(
        self, officer, api_client_for, assert_error
    ):
        client = api_client_for(officer)
        started = client.post(TWO_FACTOR, {"password": PASSWORD}, format="json").json()
        code = totp.code_at(started["secret"], totp.step_of(time.time()))
        codes = client.post(f"{TWO_FACTOR}confirm/", {"otp": code}, format="json").json()["recovery_codes"]

        assert len(codes) == len(set(codes)) == 10
        stored = set(RecoveryCode.objects.values_list("digest", flat=True))
        assert not stored & {c.replace("-", "") for c in codes}
        first = sign_in("olive_officer", otp=codes[0].lower())
        assert first.status_code == 200, first.content
        assert first.json()["two_factor"] is True
        assert_error(sign_in("olive_officer", otp=codes[0]), 400, "invalid_otp")
        assert AuditEvent.objects.filter(action="two_factor.recovery_code_used").count() == 1

    def test_removing_needs_the_password_and_a_sign_in_that_gave_the_code(
        self, officer, api_client_for, assert_error, two_factor_device_for
    ):
        device = two_factor_device_for(officer)
        unverified = api_client_for(officer)
        assert_error(
            unverified.delete(TWO_FACTOR, {"password": PASSWORD}, format="json"), 403, "two_factor_required"
        )
        verified = with_token(sign_in("olive_officer", otp=next_code(device)).json()["token"])
        other = with_token(sign_in("olive_officer", otp=next_code(device)).json()["token"])
        assert_error(
            verified.delete(TWO_FACTOR, {"password": "guess"}, format="json"), 400, "invalid_password"
        )

        assert verified.delete(TWO_FACTOR, {"password": PASSWORD}, format="json").status_code == 204

        assert not TotpDevice.objects.filter(user=officer).exists()
        assert_error(other.get(ME), 401, "authentication_failed")
        assert verified.get(ME).status_code == 200
        assert sign_in("olive_officer").status_code == 200  # the password alone again


class TestPasswordChange:
    def test_a_password_change_ends_every_token(self, resident, assert_error):
        client = with_token(sign_in("rita_resident").json()["token"])
        resident.set_password("a brand new passphrase")
        resident.save()
        assert_error(client.get(ME), 401, "authentication_failed")

    def test_the_web_password_change_keeps_that_session_and_ends_the_others(self, resident, assert_error):
        token = with_token(sign_in("rita_resident").json()["token"])
        other, browser = Client(), Client()
        other.force_login(resident)
        browser.force_login(resident)
        changed = browser.post(
            "/accounts/password_change/",
            {
                "old_password": PASSWORD,
                "new_password1": "a brand new passphrase",
                "new_password2": "a brand new passphrase",
            },
        )
        assert changed.status_code == 302, changed.content
        assert browser.get("/me/").status_code == 200
        assert other.get("/me/").status_code == 302
        assert_error(token.get(ME), 401, "authentication_failed")


class TestStaffReset:
    def test_staff_reset_a_lost_authenticator_from_the_admin_and_it_is_audited(
        self, staff, officer, assert_error, two_factor_device_for
    ):
        device = two_factor_device_for(officer)
        officer_token = with_token(sign_in("olive_officer", otp=next_code(device)).json()["token"])
        admin = Client()
        admin.force_login(staff)

        response = admin.post(
            "/admin/people/totpdevice/",
            {"action": "reset_two_factor", "_selected_action": [device.pk]},
            follow=True,
        )

        assert response.status_code == 200
        assert not TotpDevice.objects.filter(user=officer).exists()
        assert not RecoveryCode.objects.filter(user=officer).exists()
        assert_error(officer_token.get(ME), 401, "authentication_failed")
        event = AuditEvent.objects.get(action="two_factor.reset")
        assert (event.actor, event.data["user"]) == (staff, officer.pk)
        assert sign_in("olive_officer").status_code == 200

    def test_only_staff_may_reset(self, officer, resident, two_factor_device_for):
        device = two_factor_device_for(officer)
        with pytest.raises(NotPermitted):
            two_factor.two_factor_reset(actor=resident, user_id=officer.pk)
        assert TotpDevice.objects.filter(pk=device.pk).exists()


class TestSecondFactorPerSignIn:
    """The gates ask whether *this* session or token gave the code, not whether the person has
    an authenticator (issue 9, finding 2)."""

    def test_an_officer_token_from_the_password_alone_is_refused_where_the_code_is_needed(
        self, officer, society, assert_error, api_client_for, two_factor_device_for
    ):
        device = two_factor_device_for(officer)
        path = f"/api/v1/ledger/verify/?issuer={society.pk}"
        assert_error(api_client_for(officer).get(path), 403, "two_factor_required")
        assert api_client_for(officer, two_factor_device=device).get(path).status_code == 200
        token = sign_in("olive_officer", otp=next_code(device)).json()
        assert token["two_factor"] is True
        assert with_token(token["token"]).get(path).status_code == 200

    def test_an_officer_session_from_the_sign_in_page_with_the_code_may_act(
        self, officer, society, two_factor_device_for
    ):
        device = two_factor_device_for(officer)
        browser = Client()
        browser.force_login(officer)  # a session without the code (e.g. from before)
        assert browser.get(f"/auditor/issuers/{society.pk}/").status_code == 403
        browser = Client()
        signed_in = browser.post(
            "/accounts/login/", {"username": "olive_officer", "password": PASSWORD, "otp": next_code(device)}
        )
        assert signed_in.status_code == 302
        assert browser.get(f"/auditor/issuers/{society.pk}/").status_code == 200

    def test_staff_with_an_authenticator_cannot_act_on_the_password_alone(
        self, staff, assert_error, api_client_for, two_factor_device_for
    ):
        device = two_factor_device_for(staff)
        body = {
            "name": "Another Society",
            "legal_form": "community_benefit_society",
            "registration_number": "IP999R",
            "asset_lock_basis": "statutory",
            "max_interest_rate_percent": "4.00",
        }
        assert_error(
            api_client_for(staff).post("/api/v1/issuers/", body, format="json"), 403, "two_factor_required"
        )
        response = api_client_for(staff, two_factor_device=device).post(
            "/api/v1/issuers/", body, format="json"
        )
        assert response.status_code == 201, response.content


class TestAdminSignIn:
    def test_the_admin_sign_in_asks_for_the_code(self, staff, two_factor_device_for):
        device = two_factor_device_for(staff)
        browser = Client()

        page = browser.post("/admin/login/", {"username": "stella_staff", "password": PASSWORD})

        assert page.status_code == 200
        assert "Enter the code from your authenticator app." in page.content.decode()
        assert "_auth_user_id" not in browser.session
        assert browser.get("/admin/").status_code == 302
        signed_in = browser.post(
            "/admin/login/?next=/admin/",
            {"username": "stella_staff", "password": PASSWORD, "otp": next_code(device)},
        )
        assert signed_in.status_code == 302
        assert browser.get("/admin/").status_code == 200

    def test_a_password_only_session_of_staff_with_an_authenticator_does_not_open_the_admin(
        self, staff, two_factor_device_for
    ):
        two_factor_device_for(staff)
        browser = Client()
        browser.force_login(staff)
        response = browser.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")

    def test_where_required_staff_without_an_authenticator_must_set_one_up(self, settings, staff):
        settings.TWO_FACTOR_REQUIRED = True
        browser = Client()
        browser.post("/admin/login/", {"username": "stella_staff", "password": PASSWORD})
        assert browser.get("/admin/").status_code == 302
        page = browser.get("/admin/login/")
        assert "Set up two-factor sign-in" in page.content.decode()

    def test_non_staff_cannot_sign_in_to_the_admin(self, resident):
        browser = Client()
        page = browser.post("/admin/login/", {"username": "rita_resident", "password": PASSWORD})
        assert page.status_code == 200
        assert "_auth_user_id" not in browser.session
