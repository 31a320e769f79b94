"""Issuers and role grants in the admin: the same rules as the API, and an audit row for each change.

Staff saved a society as a CIC with no asset lock and a 99 % rate cap, which the
API refuses, and the admin wrote no audit row (issue 9, finding 5).
"""

from decimal import Decimal

import pytest
from django.test import Client

from bondplatform.models import AuditEvent
from compliance.models import Decision, Outcome
from issuers.models import Issuer, RoleGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def issuer_form(issuer=None, **changes):
    form = {
        "name": "Gleadless Valley Community Hub",
        "legal_form": "community_benefit_society",
        "registration_number": "IP40001R",
        "asset_lock_basis": "statutory",
        "max_interest_rate_percent": "4.00",
        "bank_account_name": "",
        "sort_code": "",
        "account_number": "",
    }
    if issuer is not None:
        form.update({name: str(getattr(issuer, name)) for name in form})
    form.update(changes)
    return form


def form_errors(response) -> dict:
    assert response.status_code == 200, response  # the form again, not a redirect
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


def test_a_society_cannot_be_saved_as_an_unlocked_cic_with_a_99_percent_cap(admin_client, society):
    response = admin_client.post(
        f"/admin/issuers/issuer/{society.pk}/change/",
        issuer_form(
            society,
            legal_form="cic_limited_by_shares",
            asset_lock_basis="none",
            max_interest_rate_percent="99.00",
        ),
    )

    assert "asset_lock_basis" in form_errors(response)
    society.refresh_from_db()
    assert (society.legal_form, society.asset_lock_basis) == ("community_benefit_society", "statutory")
    assert society.max_interest_rate_percent == Decimal("5.00")
    assert not AuditEvent.objects.exists()


def test_a_cic_cannot_declare_more_than_20_percent_in_the_admin(admin_client, cic):
    response = admin_client.post(
        f"/admin/issuers/issuer/{cic.pk}/change/", issuer_form(cic, max_interest_rate_percent="99.00")
    )

    assert "max_interest_rate_percent" in form_errors(response)
    cic.refresh_from_db()
    assert cic.max_interest_rate_percent == Decimal("6.00")


def test_a_change_in_the_admin_is_audited_with_old_and_new_values(admin_client, staff, society):
    response = admin_client.post(
        f"/admin/issuers/issuer/{society.pk}/change/", issuer_form(society, sort_code="60-83-02")
    )

    assert response.status_code == 302, form_errors(response)
    society.refresh_from_db()
    assert society.sort_code == "60-83-02"
    event = AuditEvent.objects.get(action="issuer.update")
    assert (event.actor, event.issuer) == (staff, society)
    assert event.data == {"sort_code": ["60-83-01", "60-83-02"]}


def test_an_issuer_added_in_the_admin_is_judged_and_audited(admin_client, staff):
    refused = admin_client.post(
        "/admin/issuers/issuer/add/", issuer_form(legal_form="charity", asset_lock_basis="none")
    )
    assert "asset_lock_basis" in form_errors(refused)
    assert not Issuer.objects.exists()

    response = admin_client.post("/admin/issuers/issuer/add/", issuer_form())

    assert response.status_code == 302, form_errors(response)
    issuer = Issuer.objects.get()
    event = AuditEvent.objects.get(action="issuer.create")
    assert (event.actor, event.object_id) == (staff, str(issuer.pk))


def test_issuers_cannot_be_deleted_in_the_admin(admin_client, society):
    assert (
        admin_client.post(f"/admin/issuers/issuer/{society.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Issuer.objects.filter(pk=society.pk).exists()


def grant_form(issuer, username, role):
    return {"issuer": issuer.pk, "username": username, "role": role}


def test_a_role_granted_in_the_admin_is_audited(admin_client, staff, society, make_user):
    make_user("nina_new")
    page = admin_client.get("/admin/issuers/rolegrant/add/")
    assert page.status_code == 200 and 'value="Grant"' in page.content.decode()

    response = admin_client.post("/admin/issuers/rolegrant/add/", grant_form(society, "nina_new", "auditor"))

    assert response.status_code == 302, response.content
    grant = RoleGrant.objects.get(user__username="nina_new")
    assert (grant.role, grant.granted_by) == ("auditor", staff)
    assert AuditEvent.objects.filter(action="role.grant", actor=staff, object_id=str(grant.pk)).exists()


def test_the_admin_keeps_duties_apart_and_the_refusal_is_kept(admin_client, staff, society, officer):
    response = admin_client.post(
        "/admin/issuers/rolegrant/add/", grant_form(society, officer.username, "auditor")
    )

    assert response.status_code == 200
    assert "may not both keep and audit" in response.content.decode()
    assert not RoleGrant.objects.filter(user=officer, role="auditor").exists()
    decision = Decision.objects.get(rule="segregation_of_duties")
    assert (decision.outcome, decision.actor, decision.issuer) == (Outcome.DENY, staff, society)


def test_staff_may_not_grant_themselves_a_role_in_the_admin(admin_client, staff, society):
    response = admin_client.post(
        "/admin/issuers/rolegrant/add/", grant_form(society, staff.username, "auditor")
    )

    assert response.status_code == 200
    assert not RoleGrant.objects.exists()


def test_an_unknown_username_is_the_forms_error(admin_client, society):
    response = admin_client.post("/admin/issuers/rolegrant/add/", grant_form(society, "nobody", "auditor"))

    assert response.status_code == 200
    assert response.context["form"].errors["username"]


def test_a_role_cannot_be_edited_and_revoking_one_is_audited(admin_client, staff, society, officer):
    grant = RoleGrant.objects.get(user=officer)
    changed = admin_client.post(
        f"/admin/issuers/rolegrant/{grant.pk}/change/",
        {"issuer": society.pk, "user": officer.pk, "role": "auditor"},
    )
    assert changed.status_code in (200, 403)  # shown read-only, never saved
    grant.refresh_from_db()
    assert grant.role == "finance_officer"

    response = admin_client.post(f"/admin/issuers/rolegrant/{grant.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.get(action="role.revoke")
    assert (event.actor, event.issuer, event.object_id) == (staff, society, str(grant.pk))
    assert event.data == {"user": officer.pk, "role": "finance_officer"}


def test_revoking_several_at_once_audits_each(admin_client, society, officer, auditor):
    grants = list(RoleGrant.objects.values_list("pk", flat=True))

    response = admin_client.post(
        "/admin/issuers/rolegrant/",
        {"action": "delete_selected", "_selected_action": grants, "post": "yes"},
    )

    assert response.status_code == 302
    assert not RoleGrant.objects.exists()
    assert AuditEvent.objects.filter(action="role.revoke").count() == 2
