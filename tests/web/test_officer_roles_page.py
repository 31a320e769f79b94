"""The page where an issuer's finance officers see, grant and revoke its officers and
auditors (Django's test client). The grants go through `issuers.services.role_grant`, the
service the API calls, so its refusals (segregation of duties, no such person, already
granted) are shown on the page in words, never as an error page."""

from __future__ import annotations

import pytest

from bondplatform.models import AuditEvent
from compliance.models import Decision, Outcome
from issuers.models import Role, RoleGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles_url(society):
    return f"/officer/issuers/{society.pk}/roles/"


def test_the_page_lists_the_issuers_officers_and_auditors(browser_for, officer, auditor, roles_url):
    response = browser_for(officer).get(roles_url)

    assert response.status_code == 200
    page = response.content.decode()
    officers = page[page.index('id="officers"') : page.index('id="auditors"')]
    auditors = page[page.index('id="auditors"') : page.index('id="grant-role"')]
    assert "olive_officer (you)" in officers
    assert "arthur_auditor" in auditors and "arthur_auditor" not in officers


def test_an_officer_grants_the_auditor_role_by_username(browser_for, officer, society, make_user, roles_url):
    newcomer = make_user("nadia_new_auditor", resident=False)
    client = browser_for(officer)

    response = client.post(roles_url, {"role": "auditor", "username": "nadia_new_auditor"})

    assert response.status_code == 302
    grant = RoleGrant.objects.get(user=newcomer)
    assert (grant.issuer, grant.role, grant.granted_by) == (society, Role.AUDITOR, officer)
    page = client.get(response["Location"]).content.decode()
    assert "nadia_new_auditor is now auditor of Sheffield Citylife Society." in page
    assert AuditEvent.objects.filter(action="role.grant", actor=officer).count() == 1


def test_an_unknown_username_is_a_mistake_on_the_form_not_a_missing_page(browser_for, officer, roles_url):
    response = browser_for(officer).post(roles_url, {"role": "auditor", "username": "nobody_at_all"})

    assert response.status_code == 400  # a mistake on the form, not a missing page
    page = response.content.decode()
    assert 'id="grant-role"' in page
    assert "Nobody has registered as &#x27;nobody_at_all&#x27;: check the spelling." in page
    assert 'aria-describedby="id_username_helptext id_username_error"' in page
    assert RoleGrant.objects.count() == 1


def test_a_grant_against_segregation_of_duties_is_explained_in_words(
    browser_for, officer, society, make_user, roles_url
):
    # A second officer keeps the books: she may not also audit them.
    colleague = make_user("ophelia_officer", resident=False)
    RoleGrant.objects.create(issuer=society, user=colleague, role="finance_officer")

    response = browser_for(officer).post(roles_url, {"role": "auditor", "username": "ophelia_officer"})

    assert response.status_code == 422
    page = response.content.decode()
    assert "Not granted, to keep duties apart." in page
    assert "ophelia_officer is finance officer of Sheffield Citylife Society" in page
    assert "one person may not both keep and audit an issuer&#x27;s books" in page
    assert not RoleGrant.objects.filter(user=colleague, role="auditor").exists()
    decision = Decision.objects.get(rule="segregation_of_duties")
    assert (decision.outcome, decision.actor) == (Outcome.DENY, officer)


def test_an_officer_cannot_grant_themselves_a_role(browser_for, officer, roles_url):
    response = browser_for(officer).post(roles_url, {"role": "auditor", "username": "olive_officer"})

    assert response.status_code == 422
    assert "Nobody may grant themselves a role" in response.content.decode()


def test_a_role_already_held_is_said_next_to_the_username(browser_for, officer, auditor, roles_url):
    response = browser_for(officer).post(roles_url, {"role": "auditor", "username": "arthur_auditor"})

    assert response.status_code == 409
    assert "arthur_auditor is already auditor of Sheffield Citylife Society." in response.content.decode()


def test_an_officer_revokes_an_auditor(browser_for, officer, auditor, society, roles_url):
    grant = RoleGrant.objects.get(user=auditor)
    client = browser_for(officer)

    response = client.post(f"{roles_url}{grant.pk}/revoke/")

    assert response.status_code == 302
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert "arthur_auditor is no longer auditor" in client.get(roles_url).content.decode()
    event = AuditEvent.objects.get(action="role.revoke")
    assert (event.actor, event.data) == (officer, {"user": auditor.pk, "role": "auditor"})


def test_the_last_officer_cannot_be_revoked_and_the_page_says_why(browser_for, officer, roles_url):
    grant = RoleGrant.objects.get(user=officer)
    client = browser_for(officer)
    shown = client.get(roles_url).content.decode()
    assert f"/roles/{grant.pk}/revoke/" not in shown  # no button that could only be refused
    assert "The last officer: grant the role to someone else before this one goes." in shown

    response = client.post(f"{roles_url}{grant.pk}/revoke/")

    assert response.status_code == 302
    assert RoleGrant.objects.filter(pk=grant.pk).exists()
    page = client.get(roles_url).content.decode()
    assert "Not revoked: olive_officer is the last finance officer of Sheffield Citylife Society" in page


def test_another_issuers_grant_is_not_found_under_this_issuer(browser_for, officer, other_officer, roles_url):
    theirs = RoleGrant.objects.get(user=other_officer)

    assert browser_for(officer).post(f"{roles_url}{theirs.pk}/revoke/").status_code == 404
    assert RoleGrant.objects.filter(pk=theirs.pk).exists()


def test_auditors_and_other_issuers_officers_neither_see_nor_change_the_roles(
    browser_for, officer, auditor, other_officer, make_user, roles_url
):
    make_user("nadia_new_auditor", resident=False)
    grant = RoleGrant.objects.get(user=officer)
    for person in (auditor, other_officer):
        client = browser_for(person)
        assert client.get(roles_url).status_code == 403
        assert client.post(roles_url, {"role": "auditor", "username": "nadia_new_auditor"}).status_code == 403
        assert client.post(f"{roles_url}{grant.pk}/revoke/").status_code == 403
    assert RoleGrant.objects.filter(issuer__name="Sheffield Citylife Society").count() == 2
