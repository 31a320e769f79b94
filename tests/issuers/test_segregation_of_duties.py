"""Segregation of duties (issue 9, finding 4): who keeps an issuer's books does not audit them.

An officer could grant itself the auditor role of its own issuer, and staff
could make one person both. The role-grant service refuses both orders, and
any grant to oneself, with 422 `segregation_of_duties`; the refusal is kept in
the decision log although the grant rolls back.
"""

import pytest

from bondplatform.models import AuditEvent
from compliance.models import Decision, Outcome
from issuers import services
from issuers.models import Role, RoleGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(api_client_for):
    def grant(actor, issuer, role_path, username):
        return api_client_for(actor).post(
            f"/api/v1/issuers/{issuer.pk}/{role_path}/", {"username": username}, format="json"
        )

    return grant


@pytest.fixture
def refused(assert_error):
    def refused(response, issuer, actor) -> Decision:
        body = assert_error(response, 422, "segregation_of_duties")
        assert body["detail"]
        decision = Decision.objects.get(issuer=issuer, rule="segregation_of_duties")
        assert (decision.outcome, decision.actor) == (Outcome.DENY, actor)
        assert not AuditEvent.objects.filter(action="role.grant").exists()
        return decision

    return refused


def test_an_officer_may_not_make_itself_the_auditor_of_its_issuer(officer, society, refused, grant):
    decision = refused(grant(officer, society, "auditors", officer.username), society, officer)

    assert decision.context == {"user": officer.pk, "role": "auditor"}
    assert list(RoleGrant.objects.filter(user=officer).values_list("role", flat=True)) == ["finance_officer"]


def test_nobody_grants_themselves_any_role(staff, society, refused, grant):
    refused(grant(staff, society, "officers", staff.username), society, staff)
    assert not RoleGrant.objects.filter(user=staff).exists()


@pytest.mark.parametrize(
    ("holder", "role_path"),
    [("officer", "auditors"), ("auditor", "officers")],
    ids=["officer-made-auditor", "auditor-made-officer"],
)
def test_staff_may_not_give_one_person_both_roles_in_either_order(
    request, staff, society, holder, role_path, refused, grant
):
    person = request.getfixturevalue(holder)

    decision = refused(grant(staff, society, role_path, person.username), society, staff)

    assert RoleGrant.objects.filter(user=person, issuer=society).count() == 1
    assert decision.context["held"] == [RoleGrant.objects.get(user=person).role]


def test_another_officer_may_not_make_an_officer_auditor_either(officer, society, make_user, refused, grant):
    colleague = make_user("colin_colleague", resident=False)
    RoleGrant.objects.create(issuer=society, user=colleague, role=Role.FINANCE_OFFICER)

    refused(grant(officer, society, "auditors", colleague.username), society, officer)


def test_an_officer_of_one_issuer_may_audit_another(staff, officer, cic, grant):
    response = grant(staff, cic, "auditors", officer.username)

    assert response.status_code == 201, response.content
    assert not Decision.objects.filter(rule="segregation_of_duties").exists()


def test_the_service_refuses_whoever_calls_it(staff, officer, society):
    """The rule is the service's, not the API's: the admin and commands call the same function."""
    with pytest.raises(Exception) as refusal:
        services.role_grant(actor=staff, issuer=society, username=officer.username, role=Role.AUDITOR)

    assert getattr(refusal.value, "code", None) == "segregation_of_duties"
    assert Decision.objects.filter(rule="segregation_of_duties", outcome=Outcome.DENY).count() == 1
