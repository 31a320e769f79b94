"""Ending a role (`issuers.services.role_revoke`): staff, or a finance officer of the same
issuer; audited; never the issuer's last officer when an officer asks, even when two officers
remove each other at the same moment."""

from __future__ import annotations

import pytest

from bondplatform.errors import Conflict, NotFound, NotPermitted
from bondplatform.models import AuditEvent
from issuers import services
from issuers.models import RoleGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(make_user, society):
    user = make_user("ophelia_officer", resident=False)
    RoleGrant.objects.create(issuer=society, user=user, role="finance_officer")
    return user


def grant_of(user) -> RoleGrant:
    return RoleGrant.objects.get(user=user)


def test_an_officer_revokes_a_colleague_and_it_is_audited(officer, colleague, society):
    grant = grant_of(colleague)

    revoked = services.role_revoke(actor=officer, grant_id=grant.pk, issuer_id=society.pk)

    assert (revoked.user, revoked.role) == (colleague, "finance_officer")
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.get(action="role.revoke")
    assert (event.actor, event.issuer, event.object_id) == (officer, society, str(grant.pk))


def test_an_officer_may_not_remove_the_last_officer_but_staff_may(officer, auditor, staff):
    with pytest.raises(Conflict) as refusal:
        services.role_revoke(actor=officer, grant_id=grant_of(officer).pk)
    assert refusal.value.code == "last_officer"
    assert RoleGrant.objects.filter(user=officer).exists()

    services.role_revoke(actor=staff, grant_id=grant_of(officer).pk)
    assert not RoleGrant.objects.filter(user=officer).exists()


def test_an_auditor_and_another_issuers_officer_may_not_revoke(officer, auditor, make_user, cic):
    stranger = make_user("oona_other_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=stranger, role="finance_officer")
    for person in (auditor, stranger):
        with pytest.raises(NotPermitted):
            services.role_revoke(actor=person, grant_id=grant_of(auditor).pk)
    assert RoleGrant.objects.filter(user=auditor).exists()


def test_a_grant_of_another_issuer_is_not_found_under_this_one(officer, society, make_user, cic):
    theirs = RoleGrant.objects.create(issuer=cic, user=make_user("oona"), role="finance_officer")

    with pytest.raises(NotFound):
        services.role_revoke(actor=officer, grant_id=theirs.pk, issuer_id=society.pk)
    with pytest.raises(NotFound):
        services.role_revoke(actor=officer, grant_id=999_999, issuer_id=society.pk)
    assert RoleGrant.objects.filter(pk=theirs.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_removing_each_other_at_once_leave_one(officer, colleague, society, burst):
    for _ in range(5):  # a race is a chance: give it several
        mine = RoleGrant.objects.get_or_create(issuer=society, user=officer, role="finance_officer")[0].pk
        theirs = RoleGrant.objects.get_or_create(issuer=society, user=colleague, role="finance_officer")[0].pk

        outcomes = burst(
            [
                lambda: services.role_revoke(actor=officer, grant_id=theirs, issuer_id=society.pk),
                lambda: services.role_revoke(actor=colleague, grant_id=mine, issuer_id=society.pk),
            ]
        )

        # The second is refused as the last officer, or (if it starts once the first is done) as
        # no longer an officer at all.
        assert outcomes.count("ok") == 1
        assert set(outcomes) - {"ok"} <= {"last_officer", "not_an_officer"}
        assert RoleGrant.objects.filter(issuer=society, role="finance_officer").count() == 1


# --- the API: DELETE issuers/{id}/officers/{user_id}/ and .../auditors/{user_id}/ -----------


def test_an_officer_revokes_an_auditor_through_the_api(officer, auditor, society, api_client_for):
    response = api_client_for(officer).delete(f"/api/v1/issuers/{society.pk}/auditors/{auditor.pk}/")

    assert response.status_code == 204
    assert not RoleGrant.objects.filter(user=auditor).exists()
    assert AuditEvent.objects.get(action="role.revoke").actor == officer


def test_the_api_refuses_the_last_officer_and_a_role_not_held(
    officer, auditor, staff, society, api_client_for, assert_error
):
    as_officer = api_client_for(officer)
    assert_error(
        as_officer.delete(f"/api/v1/issuers/{society.pk}/officers/{officer.pk}/"), 409, "last_officer"
    )
    # Arthur audits; he is no officer, so there is no such grant to end.
    assert_error(
        as_officer.delete(f"/api/v1/issuers/{society.pk}/officers/{auditor.pk}/"), 404, "role_grant_not_found"
    )
    assert_error(as_officer.delete(f"/api/v1/issuers/999999/auditors/{auditor.pk}/"), 404, "issuer_not_found")
    assert RoleGrant.objects.count() == 2

    assert (
        api_client_for(staff).delete(f"/api/v1/issuers/{society.pk}/officers/{officer.pk}/").status_code
        == 204
    )


def test_the_api_refuses_auditors_and_other_issuers_officers(
    officer, auditor, society, make_user, cic, api_client_for, assert_error
):
    stranger = make_user("oona_other_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=stranger, role="finance_officer")
    for person in (auditor, stranger):
        response = api_client_for(person).delete(f"/api/v1/issuers/{society.pk}/auditors/{auditor.pk}/")
        assert_error(response, 403, "not_an_officer")
    assert RoleGrant.objects.filter(user=auditor).exists()
