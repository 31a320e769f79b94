"""The SYSTEM actor: runs the issuers' scheduled work, owns nothing, is never a person."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated

from bondplatform.actors import SYSTEM
from bondplatform.errors import NotPermitted
from issuers import gates

pytestmark = pytest.mark.django_db


def test_system_passes_the_issuer_gates(society):
    gates.require_officer(SYSTEM, society)
    gates.require_ledger_reader(SYSTEM, society)
    gates.require_register_reader(SYSTEM, society)


def test_system_owns_nothing_and_is_not_a_person(resident):
    with pytest.raises(NotPermitted):
        gates.require_self(SYSTEM, resident.pk)
    with pytest.raises(NotPermitted):
        gates.require_person(SYSTEM)


def test_nobody_is_not_the_system():
    with pytest.raises(NotAuthenticated):
        gates.require_officer(AnonymousUser(), 1)
