"""Registration, tokens and `me/` (API.md, "Auth and people")."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from issuers.models import RoleGrant
from people.models import Profile

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"


def registration(**overrides):
    body = {
        "username": "nadia",
        "email": "nadia@example.org",
        "password": "a long walk up Park Hill",
        "full_name": "Nadia Hussain",
        "date_of_birth": "1990-03-14",
        "postcode": "s11 8qb",
    }
    body.update(overrides)
    return body


class TestRegister:
    def test_a_resident_registers_and_gets_id_and_username(self):
        response = APIClient().post(REGISTER, registration(), format="json")

        assert response.status_code == 201, response.content
        user = get_user_model().objects.get(username="nadia")
        assert response.json() == {"id": user.pk, "username": "nadia"}
        profile = Profile.objects.get(user=user)
        assert profile.full_name == "Nadia Hussain"
        assert profile.postcode == "S11 8QB"  # stored normalised
        assert str(profile.date_of_birth) == "1990-03-14"
        assert user.check_password("a long walk up Park Hill")
        assert not user.is_staff

    @pytest.mark.parametrize(
        "password",
        ["short1", "password123", "12345678901234", "nadia-hussain"],
        ids=["too-short", "common", "numeric", "like-the-username"],
    )
    def test_django_password_validators_refuse_weak_passwords(self, password, assert_error):
        response = APIClient().post(
            REGISTER, registration(password=password, username="nadia-hussain"), format="json"
        )

        body = assert_error(response, 400, "weak_password")
        assert body["fields"]["password"]
        assert not get_user_model().objects.filter(username="nadia-hussain").exists()

    @pytest.mark.parametrize("postcode", ["S1", "12345", "not a postcode", "SW1A1AAA"])
    def test_a_postcode_must_be_a_uk_postcode(self, postcode, assert_error):
        response = APIClient().post(REGISTER, registration(postcode=postcode), format="json")

        body = assert_error(response, 400, "invalid_postcode")
        assert "postcode" in body["fields"]

    def test_a_username_is_taken_whatever_its_case(self, resident, assert_error):
        response = APIClient().post(REGISTER, registration(username="RITA_resident"), format="json")

        body = assert_error(response, 400, "username_taken")
        assert "username" in body["fields"]
        assert get_user_model().objects.filter(username__iexact="rita_resident").count() == 1

    @pytest.mark.parametrize("date_of_birth", ["1990-02-30", "14/03/1990", "2999-01-01", "1850-01-01", ""])
    def test_a_date_of_birth_must_be_a_plausible_date(self, date_of_birth, assert_error):
        response = APIClient().post(REGISTER, registration(date_of_birth=date_of_birth), format="json")

        body = assert_error(response, 400, "invalid")
        assert "date_of_birth" in body["fields"]

    def test_every_missing_field_is_named(self, assert_error):
        response = APIClient().post(REGISTER, {}, format="json")

        body = assert_error(response, 400, "invalid")
        assert set(body["fields"]) == {
            "username",
            "email",
            "password",
            "full_name",
            "date_of_birth",
            "postcode",
        }

    def test_a_bad_email_is_refused(self, assert_error):
        response = APIClient().post(REGISTER, registration(email="nadia-at-home"), format="json")

        body = assert_error(response, 400, "invalid")
        assert "email" in body["fields"]


class TestToken:
    def test_the_right_password_gives_a_token_that_signs_in(self, resident):
        response = APIClient().post(
            TOKEN, {"username": "rita_resident", "password": "correct horse battery"}, format="json"
        )

        assert response.status_code == 200, response.content
        token = response.json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get(ME).json()["username"] == "rita_resident"

    def test_each_sign_in_gets_its_own_token_and_signing_out_ends_only_that_one(self, resident, assert_error):
        # Was "asking twice gives the same token": one everlasting token per person could not
        # expire, be revoked alone, or remember how it was obtained (issue 9, finding 3).
        body = {"username": "rita_resident", "password": "correct horse battery"}
        first = APIClient().post(TOKEN, body, format="json").json()["token"]
        second = APIClient().post(TOKEN, body, format="json").json()["token"]
        assert first != second
        phone, laptop = APIClient(), APIClient()
        phone.credentials(HTTP_AUTHORIZATION=f"Token {first}")
        laptop.credentials(HTTP_AUTHORIZATION=f"Token {second}")

        assert phone.post("/api/v1/auth/logout/").status_code == 204

        assert_error(phone.get(ME), 401, "authentication_failed")
        assert laptop.get(ME).status_code == 200

    @pytest.mark.parametrize(
        "username,password",
        [("rita_resident", "wrong horse battery"), ("nobody_here", "correct horse battery")],
        ids=["wrong-password", "unknown-user"],
    )
    def test_wrong_credentials_are_refused_alike(self, resident, username, password, assert_error):
        response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json")

        body = assert_error(response, 400, "invalid_credentials")
        assert "token" not in body

    def test_a_registered_resident_can_get_a_token(self):
        APIClient().post(REGISTER, registration(), format="json")
        response = APIClient().post(
            TOKEN, {"username": "nadia", "password": "a long walk up Park Hill"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["token"]


class TestMe:
    def test_a_resident_sees_their_profile_and_role(self, resident, api_client_for):
        response = api_client_for(resident).get(ME)

        assert response.status_code == 200
        assert response.json() == {
            "id": resident.pk,
            "username": "rita_resident",
            "full_name": "Rita Resident",
            "postcode": "S1 2AB",
            "roles": ["resident"],
            "issuers": [],
            "two_factor": False,
        }

    def test_a_finance_officer_sees_the_issuer(self, officer, society, api_client_for):
        body = api_client_for(officer).get(ME).json()

        assert body["roles"] == ["finance_officer"]
        assert body["issuers"] == [{"id": society.pk, "role": "finance_officer"}]

    def test_an_auditor_sees_the_issuer(self, auditor, society, api_client_for):
        body = api_client_for(auditor).get(ME).json()

        assert body["roles"] == ["auditor"]
        assert body["issuers"] == [{"id": society.pk, "role": "auditor"}]

    def test_staff_are_staff(self, staff, api_client_for):
        body = api_client_for(staff).get(ME).json()

        assert body["roles"] == ["staff"]
        assert body["issuers"] == []

    def test_one_person_can_hold_several_roles(self, make_user, society, cic, api_client_for):
        person = make_user("molly_many")
        RoleGrant.objects.create(issuer=society, user=person, role="finance_officer")
        RoleGrant.objects.create(issuer=cic, user=person, role="auditor")

        body = api_client_for(person).get(ME).json()

        assert body["roles"] == ["resident", "finance_officer", "auditor"]
        assert body["issuers"] == [
            {"id": society.pk, "role": "finance_officer"},
            {"id": cic.pk, "role": "auditor"},
        ]

    def test_anonymous_gets_401_with_a_challenge(self, assert_error):
        response = APIClient().get(ME)

        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"

    def test_a_bad_token_gets_401(self, assert_error):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

        assert_error(client.get(ME), 401, "authentication_failed")

    def test_the_web_session_signs_in_too(self, resident):
        client = APIClient()
        assert client.login(username="rita_resident", password="correct horse battery")

        assert client.get(ME).json()["username"] == "rita_resident"
