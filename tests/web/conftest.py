"""Fixtures of the page tests: a signed-in browser, and an officer of another issuer."""

import pytest
from django.test import Client

from issuers.models import RoleGrant


@pytest.fixture
def browser_for():
    """browser_for(user) -> a test client signed in as that user (a session, as a browser has)."""

    def browser(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return browser


@pytest.fixture
def other_officer(make_user, cic):
    """A finance officer of the CIC, not of the society."""
    user = make_user("oona_other_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=user, role="finance_officer")
    return user
