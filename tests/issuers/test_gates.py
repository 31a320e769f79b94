"""The gate functions: the one place that decides who may act on an issuer."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated

from bondplatform.errors import NotPermitted
from issuers import gates

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
        from issuers.models import RoleGrant

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
