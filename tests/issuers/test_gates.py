"""The gate functions: the one place that decides who may act on an issuer."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated

from bondplatform.errors import NotPermitted
from issuers import gates
from issuers.models import RoleGrant

pytestmark = pytest.mark.django_db

GATES = {
    "staff": lambda user, issuer: gates.require_staff(user),
    "officer": gates.require_officer,
    "officer_or_staff": gates.require_officer_or_staff,
    "ledger_reader": gates.require_ledger_reader,
    "register_reader": gates.require_register_reader,
}

# Who passes each gate on the society (the fixtures' issuer).
PASSES = {
    "staff": {"staff"},
    "officer": {"officer"},
    "officer_or_staff": {"officer", "staff"},
    "ledger_reader": {"officer", "auditor", "staff"},
    # The register holds personal data: staff do not read it through the API.
    "register_reader": {"officer", "auditor"},
}


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("persona", ["staff", "officer", "auditor", "resident", "cic_officer"])
def test_who_passes_which_gate(request, society, make_user, cic, gate, persona):
    if persona == "cic_officer":
        user = make_user("carl_cic_officer", resident=False)
        RoleGrant.objects.create(issuer=cic, user=user, role="finance_officer")
    else:
        user = request.getfixturevalue(persona)

    if persona in PASSES[gate]:
        GATES[gate](user, society)
    else:
        with pytest.raises(NotPermitted):
            GATES[gate](user, society)


@pytest.mark.parametrize("gate", sorted(GATES))
def test_nobody_signed_in_is_401_not_403(society, gate):
    with pytest.raises(NotAuthenticated):
        GATES[gate](AnonymousUser(), society)


def test_an_issuer_may_be_given_by_id(officer, society):
    gates.require_officer(officer, society.pk)


def test_require_self(resident, outsider):
    gates.require_self(resident, resident.pk)
    with pytest.raises(NotPermitted):
        gates.require_self(outsider, resident.pk)
    with pytest.raises(NotAuthenticated):
        gates.require_self(AnonymousUser(), resident.pk)


@pytest.mark.parametrize("persona", ["staff", "officer", "auditor", "resident"])
def test_role_holders_are_the_officers_and_auditors_of_any_issuer(request, society, persona):
    user = request.getfixturevalue(persona)
    expected = persona in {"officer", "auditor"}
    assert gates.holds_any_role(user) is expected
    if expected:
        gates.require_role_holder(user)
    else:
        with pytest.raises(NotPermitted):
            gates.require_role_holder(user)


def test_nobody_holds_a_role_and_nobody_is_asked_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert gates.holds_any_role(AnonymousUser()) is False
    with pytest.raises(NotAuthenticated):
        gates.require_role_holder(AnonymousUser())


@pytest.mark.parametrize("persona", ["staff", "officer", "auditor", "resident"])
def test_may_act_as_officer_answers_what_require_officer_decides(request, society, persona):
    assert gates.may_act_as_officer(request.getfixturevalue(persona), society) is (persona == "officer")
    assert gates.may_act_as_officer(AnonymousUser(), society) is False


def test_where_two_factor_is_required_an_officer_without_it_may_not_act(settings, officer, society):
    settings.TWO_FACTOR_REQUIRED = True
    assert gates.may_act_as_officer(officer, society) is False
    with pytest.raises(NotPermitted):
        gates.require_role_holder(officer)
