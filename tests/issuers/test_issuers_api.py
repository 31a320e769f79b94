"""Issuers and role grants over HTTP (API.md, "Issuers"), for every persona."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated
from rest_framework.test import APIClient

from bondplatform.errors import NotFound, NotPermitted
from bondplatform.models import AuditEvent
from issuers.models import Issuer, Role, RoleGrant
from issuers.selectors import issuer_get_to_grant
from issuers.services import role_grant

pytestmark = pytest.mark.django_db

ISSUER_FIELDS = {
    "id",
    "name",
    "legal_form",
    "registration_number",
    "asset_locked",
    "asset_lock_basis",
    "max_interest_rate_percent",
}


def new_issuer(**overrides):
    body = {
        "name": "Gleadless Valley Community Hub",
        "legal_form": "community_benefit_society",
        "registration_number": "IP40001R",
        "asset_lock_basis": "statutory",
        "max_interest_rate_percent": "4.00",
    }
    body.update(overrides)
    return body


@pytest.fixture
def cic_officer(make_user, cic):
    user = make_user("carl_cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=user, role="finance_officer")
    return user


class TestReadingIssuers:
    def test_anyone_lists_issuers_paginated(self, society, cic):
        response = APIClient().get("/api/v1/issuers/")

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert body["next"] is None and body["previous"] is None
        assert [i["name"] for i in body["results"]] == ["Sheffield Citylife Society", "Park Hill Energy CIC"]
        assert set(body["results"][0]) >= ISSUER_FIELDS

    def test_anyone_reads_one_issuer(self, society):
        response = APIClient().get(f"/api/v1/issuers/{society.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == society.pk
        assert body["legal_form"] == "community_benefit_society"
        assert body["registration_number"] == "IP12345R"
        assert body["asset_lock_basis"] == "statutory"
        assert body["asset_locked"] is True
        assert body["max_interest_rate_percent"] == "5.00"  # rates are strings

    def test_an_issuer_without_a_lock_says_so(self, staff, api_client_for):
        api_client_for(staff).post(
            "/api/v1/issuers/",
            new_issuer(legal_form="other", asset_lock_basis="none", registration_number=""),
            format="json",
        )
        issuer = Issuer.objects.get()

        assert APIClient().get(f"/api/v1/issuers/{issuer.pk}/").json()["asset_locked"] is False

    def test_an_unknown_issuer_is_404(self, society, assert_error):
        assert_error(APIClient().get(f"/api/v1/issuers/{society.pk + 1000}/"), 404, "issuer_not_found")


class TestCreatingIssuers:
    def test_staff_create_an_issuer_and_it_is_audited(self, staff, api_client_for):
        response = api_client_for(staff).post("/api/v1/issuers/", new_issuer(), format="json")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) >= ISSUER_FIELDS
        assert body["max_interest_rate_percent"] == "4.00"
        assert body["asset_locked"] is True
        issuer = Issuer.objects.get(pk=body["id"])
        event = AuditEvent.objects.get(action="issuer.create")
        assert (event.actor, event.issuer, event.object_id) == (staff, issuer, str(issuer.pk))

    @pytest.mark.parametrize("persona", ["resident", "officer", "auditor"])
    def test_anyone_else_signed_in_is_refused(self, request, persona, assert_error, api_client_for):
        user = request.getfixturevalue(persona)

        assert_error(
            api_client_for(user).post("/api/v1/issuers/", new_issuer(), format="json"), 403, "staff_only"
        )
        assert not Issuer.objects.filter(name="Gleadless Valley Community Hub").exists()

    def test_anonymous_is_401_even_with_a_bad_body(self, assert_error):
        assert_error(
            APIClient().post("/api/v1/issuers/", new_issuer(), format="json"), 401, "not_authenticated"
        )
        assert_error(APIClient().post("/api/v1/issuers/", [1], format="json"), 401, "not_authenticated")

    @pytest.mark.parametrize(
        "legal_form,basis",
        [
            ("cic_limited_by_shares", "statutory"),
            ("cic_limited_by_guarantee", "none"),
            ("community_benefit_society", "cic"),
            ("community_benefit_society", "none"),
            ("cooperative_society", "statutory"),
            ("charity", "none"),
        ],
    )
    def test_the_asset_lock_must_fit_the_legal_form(
        self, staff, legal_form, basis, api_client_for, assert_error
    ):
        response = api_client_for(staff).post(
            "/api/v1/issuers/", new_issuer(legal_form=legal_form, asset_lock_basis=basis), format="json"
        )

        body = assert_error(response, 400, "asset_lock_basis_mismatch")
        assert "asset_lock_basis" in body["fields"]
        assert not Issuer.objects.exists()

    @pytest.mark.parametrize(
        "legal_form,basis",
        [
            ("cic_limited_by_shares", "cic"),
            ("cic_limited_by_guarantee", "cic"),
            ("community_benefit_society", "statutory"),
            ("cooperative_society", "articles"),
            ("charity", "articles"),
            ("company_limited_by_guarantee", "none"),
        ],
    )
    def test_fitting_locks_are_accepted(self, staff, legal_form, basis, api_client_for):
        response = api_client_for(staff).post(
            "/api/v1/issuers/", new_issuer(legal_form=legal_form, asset_lock_basis=basis), format="json"
        )

        assert response.status_code == 201, response.content

    def test_a_cic_may_not_declare_more_than_20_percent(self, staff, api_client_for, assert_error):
        cic = new_issuer(legal_form="cic_limited_by_shares", asset_lock_basis="cic")

        response = api_client_for(staff).post(
            "/api/v1/issuers/", {**cic, "max_interest_rate_percent": "20.01"}, format="json"
        )
        body = assert_error(response, 400, "rate_cap_exceeded")
        assert "max_interest_rate_percent" in body["fields"]

        at_the_cap = api_client_for(staff).post(
            "/api/v1/issuers/", {**cic, "max_interest_rate_percent": "20.00"}, format="json"
        )
        assert at_the_cap.status_code == 201, at_the_cap.content

    @pytest.mark.parametrize(
        "field,value",
        [
            ("legal_form", "limited_company"),
            ("asset_lock_basis", "vibes"),
            ("max_interest_rate_percent", "-1.00"),
            ("max_interest_rate_percent", "100.01"),
            ("max_interest_rate_percent", "4.005"),
            ("max_interest_rate_percent", "NaN"),
            ("name", ""),
        ],
    )
    def test_bad_fields_are_400(self, staff, field, value, api_client_for, assert_error):
        response = api_client_for(staff).post("/api/v1/issuers/", new_issuer(**{field: value}), format="json")

        body = assert_error(response, 400, "invalid")
        assert field in body["fields"]


@pytest.mark.parametrize("role_path,role", [("officers", "finance_officer"), ("auditors", "auditor")])
class TestGrantingRoles:
    def test_staff_grant_and_it_is_audited(self, staff, society, make_user, role_path, role, api_client_for):
        newcomer = make_user("nina_new")

        response = api_client_for(staff).post(
            f"/api/v1/issuers/{society.pk}/{role_path}/", {"username": "nina_new"}, format="json"
        )

        assert response.status_code == 201, response.content
        grant = RoleGrant.objects.get(user=newcomer, issuer=society)
        assert response.json() == {"id": grant.pk, "issuer": society.pk, "username": "nina_new", "role": role}
        assert (grant.role, grant.granted_by) == (role, staff)
        event = AuditEvent.objects.get(action="role.grant")
        assert (event.actor, event.issuer, event.object_id) == (staff, society, str(grant.pk))
        assert event.data == {"user": newcomer.pk, "role": role}
        # The newcomer now sees the role.
        assert {"id": society.pk, "role": role} in api_client_for(newcomer).get("/api/v1/me/").json()[
            "issuers"
        ]

    def test_an_officer_of_the_issuer_grants(
        self, officer, society, make_user, role_path, role, api_client_for
    ):
        make_user("nina_new")

        response = api_client_for(officer).post(
            f"/api/v1/issuers/{society.pk}/{role_path}/", {"username": "nina_new"}, format="json"
        )

        assert response.status_code == 201, response.content
        assert AuditEvent.objects.filter(action="role.grant", actor=officer, issuer=society).count() == 1

    @pytest.mark.parametrize("persona", ["cic_officer", "auditor", "resident", "outsider"])
    def test_others_are_refused(
        self, request, society, make_user, role_path, role, persona, api_client_for, assert_error
    ):
        user = request.getfixturevalue(persona)
        make_user("nina_new")

        response = api_client_for(user).post(
            f"/api/v1/issuers/{society.pk}/{role_path}/", {"username": "nina_new"}, format="json"
        )

        assert_error(response, 403, "not_an_officer")
        assert not RoleGrant.objects.filter(user__username="nina_new").exists()
        assert not AuditEvent.objects.filter(action="role.grant").exists()

    def test_anonymous_is_401(self, society, make_user, role_path, role, assert_error):
        make_user("nina_new")

        response = APIClient().post(
            f"/api/v1/issuers/{society.pk}/{role_path}/", {"username": "nina_new"}, format="json"
        )

        assert_error(response, 401, "not_authenticated")

    def test_an_unknown_username_is_404(self, staff, society, role_path, role, api_client_for, assert_error):
        response = api_client_for(staff).post(
            f"/api/v1/issuers/{society.pk}/{role_path}/", {"username": "nobody_at_all"}, format="json"
        )

        body = assert_error(response, 404, "user_not_found")
        assert "username" in body["fields"]

    def test_an_unknown_issuer_is_404(
        self, staff, society, make_user, role_path, role, api_client_for, assert_error
    ):
        make_user("nina_new")

        response = api_client_for(staff).post(
            f"/api/v1/issuers/{society.pk + 1000}/{role_path}/", {"username": "nina_new"}, format="json"
        )

        assert_error(response, 404, "issuer_not_found")

    def test_granting_twice_is_409_and_changes_nothing(
        self, staff, society, make_user, role_path, role, api_client_for, assert_error
    ):
        make_user("nina_new")
        url = f"/api/v1/issuers/{society.pk}/{role_path}/"
        assert api_client_for(staff).post(url, {"username": "nina_new"}, format="json").status_code == 201

        response = api_client_for(staff).post(url, {"username": "nina_new"}, format="json")

        assert_error(response, 409, "already_granted")
        assert RoleGrant.objects.filter(user__username="nina_new").count() == 1
        assert AuditEvent.objects.filter(action="role.grant").count() == 1

    def test_a_missing_username_is_400(self, staff, society, role_path, role, api_client_for, assert_error):
        response = api_client_for(staff).post(f"/api/v1/issuers/{society.pk}/{role_path}/", {}, format="json")

        body = assert_error(response, 400, "invalid")
        assert "username" in body["fields"]


def test_bank_details_are_taken_but_not_published(society, staff, api_client_for):
    public = APIClient().get(f"/api/v1/issuers/{society.pk}/").json()
    assert not {"bank_account_name", "sort_code", "account_number"} & set(public)
    created = api_client_for(staff).post("/api/v1/issuers/", new_issuer(sort_code="12-34-56"), format="json")
    assert created.status_code == 201
    assert "sort_code" not in created.json()
    assert Issuer.objects.get(pk=created.json()["id"]).sort_code == "12-34-56"


def test_the_issuer_to_grant_on_is_checked_by_its_selector(society, cic, officer, auditor, staff, resident):
    """The API reads the issuer this way before it reads the body: the selector itself refuses."""
    assert issuer_get_to_grant(society.pk, actor=officer) == society
    assert issuer_get_to_grant(society.pk, actor=staff) == society
    for refused in (auditor, resident):
        with pytest.raises(NotPermitted):
            issuer_get_to_grant(society.pk, actor=refused)
    with pytest.raises(NotPermitted):  # an officer of the society is not one of the CIC
        issuer_get_to_grant(cic.pk, actor=officer)
    with pytest.raises(NotAuthenticated):
        issuer_get_to_grant(society.pk, actor=AnonymousUser())
    with pytest.raises(NotFound):
        issuer_get_to_grant(society.pk + 1000, actor=resident)


def test_the_grant_service_itself_refuses_whoever_may_not_grant(society, auditor, resident, make_user):
    """Not only the API: a command or page calling `role_grant` directly is refused too."""
    make_user("nina_new")
    for refused in (auditor, resident):
        with pytest.raises(NotPermitted):
            role_grant(actor=refused, issuer=society, username="nina_new", role=Role.AUDITOR)
    assert not RoleGrant.objects.filter(user__username="nina_new").exists()
