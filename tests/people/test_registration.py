"""Look-alike accounts and e-mail verification (issue 9, finding 8)."""

import datetime as dt
import os
import subprocess
import sys

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bondplatform.models import AuditEvent
from people import selectors
from people.services import registration

pytestmark = pytest.mark.django_db
REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
# Written with escapes: ruff (rightly) flags look-alike characters in source.
FULLWIDTH_RITA = "".join(chr(ord(c) - ord("A") + 0xFF21) for c in "RITA")


def registration_body(**overrides):
    body = {
        "username": "nadia",
        "email": "nadia@example.org",
        "password": "a long walk up Park Hill",
        "full_name": "Nadia Hussain",
        "date_of_birth": "1990-03-14",
        "postcode": "s11 8qb",
    }
    return body | overrides


def register(**overrides):
    return APIClient().post(REGISTER, registration_body(**overrides), format="json")


class TestLookAlikes:
    def test_a_fullwidth_name_is_the_same_name(self, assert_error):
        assert register(username="rita", email="rita@example.org").status_code == 201

        for look_alike in (FULLWIDTH_RITA, FULLWIDTH_RITA.lower(), "RITA"):
            body = assert_error(register(username=look_alike), 400, "username_taken")
            assert "username" in body["fields"]
        assert get_user_model().objects.count() == 1

    def test_a_fullwidth_name_is_stored_normalised(self):
        assert register(username=FULLWIDTH_RITA).status_code == 201
        assert get_user_model().objects.get().username == "RITA"

    def test_an_email_address_is_taken_whatever_its_case(self, assert_error):
        assert register().status_code == 201
        body = assert_error(register(username="nadia2", email="NADIA@Example.ORG"), 400, "email_taken")
        assert "email" in body["fields"]

    def test_the_database_refuses_look_alikes_too(self, resident):
        User = get_user_model()
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user(username="RITA_RESIDENT", email="other@example.org")
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user(username="someone_else", email="Rita_Resident@EXAMPLE.org")
        # Accounts with no address (staff from createsuperuser) may be several.
        User.objects.create_user(username="no_mail_1")
        User.objects.create_user(username="no_mail_2")


@pytest.fixture
def open_issue(society, officer, make_issue):
    return make_issue(society, officer)


def subscribe(client, issue):
    return client.post(
        f"/api/v1/issues/{issue.pk}/subscriptions/",
        {"amount": "250.00", "payment_method": "bank_transfer"},
        format="json",
    )


class TestEmailVerification:
    def test_registration_sends_a_link_and_subscribing_waits_for_it(
        self, open_issue, mailoutbox, django_capture_on_commit_callbacks, assert_error, api_client_for
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert register().status_code == 201
        nadia = get_user_model().objects.get(username="nadia")

        body = assert_error(subscribe(api_client_for(nadia), open_issue), 403, "email_not_verified")
        assert "auth/verify-email/resend/" in body["detail"]
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["nadia@example.org"]
        link = next(word for word in mailoutbox[0].body.split() if "/accounts/verify-email/" in word)
        token = link.rstrip("/").rsplit("/", 1)[1]

        verified = APIClient().post(VERIFY, {"token": token}, format="json")

        assert verified.json() == {"verified": True, "username": "nadia"}
        assert subscribe(api_client_for(nadia), open_issue).status_code == 201
        assert AuditEvent.objects.filter(action="email.verify").count() == 1

    def test_the_web_link_verifies(self):
        profile = registration.resident_register(**registration_body(date_of_birth=dt.date(1990, 3, 14)))
        token = registration.email_verification_token(profile.user)
        response = Client().get(f"/accounts/verify-email/{token}/", follow=True)
        assert "your e-mail address is confirmed" in response.content.decode()
        assert selectors.email_verified(profile.user)

    def test_a_bad_or_old_link_is_refused(self, assert_error):
        profile = registration.resident_register(**registration_body(date_of_birth=dt.date(1990, 3, 14)))
        token = registration.email_verification_token(profile.user)
        assert_error(
            APIClient().post(VERIFY, {"token": token + "x"}, format="json"), 400, "invalid_verification_link"
        )
        with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
            assert_error(
                APIClient().post(VERIFY, {"token": token}, format="json"), 400, "verification_link_expired"
            )
        assert not selectors.email_verified(profile.user)

    def test_a_link_for_an_address_the_account_no_longer_has_proves_nothing(self, assert_error):
        profile = registration.resident_register(**registration_body(date_of_birth=dt.date(1990, 3, 14)))
        token = registration.email_verification_token(profile.user)
        profile.user.email = "new@example.org"
        profile.user.save()
        assert_error(
            APIClient().post(VERIFY, {"token": token}, format="json"), 400, "invalid_verification_link"
        )

    def test_verification_ends_when_the_address_changes(self, resident):
        assert selectors.email_verified(resident)
        resident.email = "elsewhere@example.org"
        resident.save()
        assert not selectors.email_verified(resident)

    def test_a_resident_can_ask_for_the_link_again(
        self, mailoutbox, django_capture_on_commit_callbacks, api_client_for
    ):
        profile = registration.resident_register(**registration_body(date_of_birth=dt.date(1990, 3, 14)))
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client_for(profile.user).post("/api/v1/auth/verify-email/resend/")
        assert response.status_code == 202
        assert len(mailoutbox) == 1

    def test_without_the_setting_anyone_signed_in_may_subscribe(self, settings, open_issue, api_client_for):
        settings.EMAIL_VERIFICATION_REQUIRED = False
        profile = registration.resident_register(**registration_body(date_of_birth=dt.date(1990, 3, 14)))
        assert subscribe(api_client_for(profile.user), open_issue).status_code == 201

    def test_anonymous_is_401_not_403(self, open_issue, assert_error):
        assert_error(subscribe(APIClient(), open_issue), 401, "not_authenticated")

    def test_the_default_is_on_unless_debug(self):
        def setting(debug: str) -> str:
            env = {**os.environ, "DEBUG": debug, "SECRET_KEY": "x" * 50, "LEDGER_SIGNING_KEY": "00" * 32}
            env.pop("EMAIL_VERIFICATION_REQUIRED", None)
            code = "from bondplatform import settings; print(settings.EMAIL_VERIFICATION_REQUIRED)"
            return subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout.strip()

        assert (setting("0"), setting("1")) == ("True", "False")
