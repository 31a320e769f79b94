"""Shared fixtures: named personas, API clients, and a Citylife-style bond issue to subscribe to.

PostgreSQL-only tests carry `@pytest.mark.postgres`. Locally on SQLite they
are skipped (and the run says so); with REQUIRE_POSTGRES=1 (CI) the whole run
fails at once if the database is not PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from investments.services import issues as issue_services
from issuers.models import Issuer, RoleGrant
from people.models import AccountSecurity, Profile
from people.services.tokens import auth_token_create


def _vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    if _vendor() == "postgresql":
        where = (
            f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or '5432'}, test database test_{db['NAME']}"
        )
    else:
        where = "an in-memory test database"
    return f"database: {_vendor()} ({where})"


def pytest_configure(config):
    if os.environ.get("REQUIRE_POSTGRES") == "1" and _vendor() != "postgresql":
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")


def pytest_collection_modifyitems(config, items):
    if _vendor() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        # The marker, not `item.keywords`: a parameter id such as "postgres" is a keyword too.
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(f"Tests ran on {_vendor()}.")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _background_work_inline(settings):
    """Work queued for the django-q2 worker runs in the test's process, right after commit."""
    settings.BACKGROUND_INLINE = True


@pytest.fixture(autouse=True)
def _email_verification_required(settings):
    """As in production (it is off only with DEBUG on, the development default)."""
    settings.EMAIL_VERIFICATION_REQUIRED = True


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *, staff: bool = False, resident: bool = True, **profile):
        user = django_user_model.objects.create_user(
            username=username, email=f"{username}@example.org", password="correct horse battery"
        )
        if staff:
            user.is_staff = user.is_superuser = True
            user.save()
        if resident:
            # Residents have confirmed their e-mail address (people.services.registration).
            AccountSecurity.objects.create(
                user=user, verified_email=user.email, email_verified_at=dt.datetime.now(dt.UTC)
            )
            Profile.objects.create(
                user=user,
                full_name=profile.get("full_name", username.title()),
                date_of_birth=profile.get("date_of_birth", dt.date(1970, 5, 17)),
                postcode=profile.get("postcode", "S1 2AB"),
            )
        return user

    return make


def _client_for(user, *, two_factor_device=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = auth_token_create(user=user, verified_device=two_factor_device)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api_client_for():
    """api_client_for(user, *, two_factor_device=None) -> an APIClient signed in as `user`.

    The client carries a fresh token, as from a sign-in that gave a code from
    `two_factor_device` (or the password alone, by default); for `None`, an anonymous client."""
    return _client_for


@pytest.fixture
def assert_error():
    """assert_error(response, status, code) -> the body of a refusal in the API's one error shape."""

    def check(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) >= {"code", "detail", "fields"}
        assert body["code"] == code, body
        return body

    return check


@pytest.fixture
def staff(make_user):
    return make_user("stella_staff", staff=True, resident=False)


@pytest.fixture
def society(db):
    return Issuer.objects.create(
        name="Sheffield Citylife Society",
        legal_form="community_benefit_society",
        registration_number="IP12345R",
        asset_lock_basis="statutory",
        max_interest_rate_percent=Decimal("5.00"),
        bank_account_name="Citylife Society Ltd",
        sort_code="60-83-01",
        account_number="20345678",
    )


@pytest.fixture
def cic(db):
    return Issuer.objects.create(
        name="Park Hill Energy CIC",
        legal_form="cic_limited_by_shares",
        registration_number="09876543",
        asset_lock_basis="cic",
        max_interest_rate_percent=Decimal("6.00"),
    )


@pytest.fixture
def officer(make_user, society):
    user = make_user("olive_officer", resident=False)
    RoleGrant.objects.create(issuer=society, user=user, role="finance_officer")
    return user


@pytest.fixture
def auditor(make_user, society):
    user = make_user("arthur_auditor", resident=False)
    RoleGrant.objects.create(issuer=society, user=user, role="auditor")
    return user


@pytest.fixture
def resident(make_user):
    return make_user("rita_resident", full_name="Rita Resident", postcode="S1 2AB")


@pytest.fixture
def outsider(make_user):
    return make_user("oscar_outsider", full_name="Oscar Outsider", postcode="M1 1AA")


# A Citylife-style issue: five-year money-back bonds, open for a month from yesterday.
CITYLIFE_TERMS = {
    "name": "Citylife Money-Back Bond 2026",
    "description": "Five-year money-back bonds for local jobs and housing.",
    "currency": "GBP",
    "coupon_rate_percent": Decimal("0.00"),
    "term_months": 60,
    "interest_frequency": "at_maturity",
    "day_count": "act_365f",
    "min_subscription_pence": 100_00,
    "max_subscription_pence": 5_000_00,
    "min_raise_pence": 500_00,
    "max_raise_pence": 20_000_00,
    "eligible_postcode_prefixes": [],
    "cooling_off_days": 14,
    "notice_days": 90,
}


@pytest.fixture
def citylife_terms() -> dict:
    """The terms `make_issue` starts from (a copy: a test may change its own)."""
    return dict(CITYLIFE_TERMS)


@pytest.fixture
def make_issue():
    """make_issue(issuer, officer, *, open_it=True, **overrides) -> a bond issue on the Citylife terms,
    created (and opened) by its officer through the services."""

    def make(issuer, officer, *, open_it: bool = True, **overrides):
        now = timezone.now()
        terms = {
            **CITYLIFE_TERMS,
            "opens_at": now - dt.timedelta(days=1),
            "closes_at": now + dt.timedelta(days=30),
            **overrides,
        }
        issue = issue_services.issue_create(actor=officer, issuer=issuer, **terms)
        if open_it:
            issue = issue_services.issue_open(actor=officer, issue_id=issue.pk)
        return issue

    return make


@pytest.fixture
def subscribe(api_client_for):
    """subscribe(user, issue, amount="250.00", method="bank_transfer", key=None) -> the API's answer
    to `user` subscribing (with an Idempotency-Key header if `key` is given)."""

    def post(user, issue, amount="250.00", method="bank_transfer", key=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return api_client_for(user).post(
            f"/api/v1/issues/{issue.pk}/subscriptions/",
            {"amount": amount, "payment_method": method},
            format="json",
            **headers,
        )

    return post


@pytest.fixture
def record_payment(api_client_for):
    """record_payment(officer, subscription_id, amount, reference, key="k1", received_on=None) -> the
    API's answer to the officer recording a bank transfer (received today by default)."""

    def post(officer, subscription_id, amount, reference, key="k1", received_on=None):
        return api_client_for(officer).post(
            f"/api/v1/subscriptions/{subscription_id}/record-payment/",
            {
                "amount": amount,
                "reference": reference,
                "received_on": received_on or timezone.localdate().isoformat(),
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    return post
