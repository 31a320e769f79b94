"""Who may reach what: every API path and page, as every persona, from the URL configuration.

The personas: nobody, the resident who owns the objects, another resident, the finance
officer and the auditor of the issuer, the officer and the auditor of another issuer, and
staff. Each route has a policy saying which personas may pass its gates; the test asks as
each persona and checks the outcome:
- allowed: a 2xx or 3xx answer that is not a redirect to sign in (for a POST with an empty
  body a 400, 409 or 422 counts too: the request got past the gates to the checks);
- refused: 401 (or a redirect to sign in) for nobody, 403 or 404 for everyone else.
POSTs and DELETEs are sent only as the refused personas (the allowed ones would change the world that
the next routes are checked against; their behaviour is the functional tests' to prove).

A route missing from MATRIX fails the test: a new path cannot ship without its policy.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from investments.interest import add_months
from investments.models import PayoutBatch, Refund
from investments.services import interest_runs, redemptions
from investments.services.updates import bondholder_update_post
from issuers.models import Issuer, RoleGrant

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "owner", "other_resident", "officer", "auditor", "officer_b", "auditor_b", "staff")
EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {"anonymous"}
READERS = frozenset({"officer", "auditor", "staff"})  # the issuer's books: its officers, auditors, staff
REGISTER = frozenset({"officer", "auditor"})  # the register holds personal data: not staff
OFFICER = frozenset({"officer"})
OWNER = frozenset({"owner"})
STAFF = frozenset({"staff"})
ROLE_HOLDERS = frozenset({"officer", "auditor", "officer_b", "auditor_b"})

# route name -> (method, path arguments, query, personas allowed). "skip" carries its reason.
MATRIX: dict[str, tuple | str] = {
    # Open to all: the public face of the service.
    "healthz": ("get", {}, {}, EVERYONE),
    "metrics": ("get", {}, {}, STAFF),
    "home": ("get", {}, {}, EVERYONE),
    "issue-page": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    "issue-transparency-page": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    "issuer-participation-page": ("get", {"issuer_id": "issuer"}, {}, EVERYONE),
    "issuer-list": ("get", {}, {}, EVERYONE),
    "issuer-detail": ("get", {"issuer_id": "issuer"}, {}, EVERYONE),
    "issue-list": ("get", {}, {}, EVERYONE),
    "issue-detail": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    "issue-transparency": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    "issue-uses-of-funds": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    # Its POST (officers) is checked in tests/investments/test_updates_api.py.
    "issue-updates": ("get", {"issue_id": "issue"}, {}, EVERYONE),
    "bondholder-update-photo": ("get", {"update_id": "update"}, {}, EVERYONE),
    "issuer-participation": ("get", {"issuer_id": "issuer"}, {}, EVERYONE),
    "ledger-checkpoints": ("get", {}, {"issuer": "issuer"}, EVERYONE),
    "ledger-consistency-proof": ("get", {}, {"issuer": "issuer", "first": 1, "second": 1}, EVERYONE),
    "ledger-public-key": ("get", {}, {}, EVERYONE),
    "schema": ("get", {}, {}, EVERYONE),
    "docs": ("get", {}, {}, EVERYONE),
    "register": ("get", {}, {}, EVERYONE),
    "login": ("get", {}, {}, EVERYONE),
    "password_reset": ("get", {}, {}, EVERYONE),
    "password_reset_done": ("get", {}, {}, EVERYONE),
    "password_reset_complete": ("get", {}, {}, EVERYONE),
    "auth-register": "anyone may register: tests/people/test_auth_api.py",
    "auth-token": "anyone may sign in: tests/people/test_auth_api.py",
    "auth-verify-email": "a signed token, not a persona: tests/people/test_email_verification.py",
    "verify-email": "a signed token, not a persona: tests/people/test_email_verification.py",
    "password_reset_confirm": "a signed token, not a persona (Django's own view)",
    "stripe-webhook": "Stripe's signature, not a persona: tests/investments/payments/test_webhooks.py",
    "logout": "signing out works for everyone (Django's own view)",
    # Signed in: the person's own things.
    "me": ("get", {}, {}, SIGNED_IN),
    "me-two-factor": ("get", {}, {}, SIGNED_IN),
    "me-two-factor-confirm": ("post", {}, {}, SIGNED_IN),
    "auth-logout": ("post", {}, {}, SIGNED_IN),
    "auth-verify-email-resend": ("post", {}, {}, SIGNED_IN),
    "my-subscriptions": ("get", {}, {}, SIGNED_IN),
    "my-holdings": ("get", {}, {}, SIGNED_IN),
    "my-payout-account": "a signed-in person's own account (404 until given): tests/investments/servicing/",
    "my-investments": ("get", {}, {}, SIGNED_IN),
    "payout-account-page": ("get", {}, {}, SIGNED_IN),
    "email-updates-page": ("post", {}, {}, SIGNED_IN),
    "password_change": ("get", {}, {}, SIGNED_IN),
    "password_change_done": ("get", {}, {}, SIGNED_IN),
    # A resident's own subscription and holding.
    "subscription-detail": ("get", {"subscription_id": "subscription"}, {}, OWNER),
    "subscription-cancel": ("post", {"subscription_id": "subscription"}, {}, OWNER),
    "subscription-cancel-page": "page actions answer with a message and call the same gated services as the API routes checked here",
    "holding-interest-preference": ("post", {"holding_id": "holding"}, {}, OWNER),
    "holding-redemption-requests": ("post", {"holding_id": "holding"}, {}, OWNER),
    "holding-preference-page": "page actions answer with a message and call the same gated services as the API routes checked here",
    "holding-redeem-page": ("get", {"holding_id": "holding"}, {}, OWNER),
    "issue-subscribe": ("post", {"issue_id": "issue"}, {}, SIGNED_IN),
    # The issuer's officer acts.
    "issuer-officers": ("post", {"issuer_id": "issuer"}, {}, OFFICER | STAFF),
    "issuer-auditors": ("post", {"issuer_id": "issuer"}, {}, OFFICER | STAFF),
    "issuer-officer": ("delete", {"issuer_id": "issuer", "user_id": "officer_user"}, {}, OFFICER | STAFF),
    "issuer-auditor": ("delete", {"issuer_id": "issuer", "user_id": "auditor_user"}, {}, OFFICER | STAFF),
    "issue-open": ("post", {"issue_id": "draft"}, {}, OFFICER),
    "issue-close": ("post", {"issue_id": "issue"}, {}, OFFICER),
    "issue-withdraw": ("post", {"issue_id": "issue"}, {}, OFFICER),
    "issue-allot": ("post", {"issue_id": "issue"}, {}, OFFICER),
    "issue-mature": ("post", {"issue_id": "issue"}, {}, OFFICER),
    "issue-interest-runs": ("post", {"issue_id": "issue"}, {}, OFFICER),
    "subscription-record-payment": ("post", {"subscription_id": "subscription"}, {}, OFFICER),
    "refund-mark-sent": ("post", {"refund_id": "refund"}, {}, OFFICER),
    "issuer-bank-statements": ("post", {"issuer_id": "issuer"}, {}, OFFICER),
    "redemption-approve": ("post", {"request_id": "redemption"}, {}, OFFICER),
    "redemption-decline": ("post", {"request_id": "redemption"}, {}, OFFICER),
    "issuer-payout-batches": ("get", {"issuer_id": "issuer"}, {}, OFFICER),
    "payout-batch-csv": ("get", {"batch_id": "batch"}, {}, OFFICER),
    "payout-batch-mark-sent": ("post", {"batch_id": "batch"}, {}, OFFICER),
    "issuer-interest-return-csv": (
        "get",
        {"issuer_id": "issuer"},
        {"from": "2020-01-01", "to": "2040-01-01"},
        OFFICER,
    ),
    "issuer-distributions": ("post", {"issuer_id": "issuer"}, {}, OFFICER),
    "issuer-financial-years": ("post", {"issuer_id": "issuer"}, {}, OFFICER),
    "issuer-winding-up": ("post", {"issuer_id": "issuer"}, {}, OFFICER),
    "officer-issue": ("get", {"issue_id": "issue"}, {}, REGISTER),  # officers act, auditors read
    "officer-issue-open": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-issue-close": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-issue-withdraw": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-issue-allot": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-record-payment": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-refund-sent": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-bank-statement": ("get", {"issuer_id": "issuer"}, {}, OFFICER),
    "officer-interest-run-request": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-interest-run": ("get", {"run_id": "run"}, {}, READERS),
    "officer-redemption-decide": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-payout-batches": ("get", {"issuer_id": "issuer"}, {}, OFFICER),
    "officer-payout-batch-sent": "page actions answer with a message and call the same gated services as the API routes checked here",
    "officer-home": ("get", {}, {}, ROLE_HOLDERS),
    "officer-issue-new": ("get", {"issuer_id": "issuer"}, {}, OFFICER),
    "officer-issue-terms": ("get", {"issue_id": "draft"}, {}, OFFICER),
    "officer-issuer-roles": ("get", {"issuer_id": "issuer"}, {}, OFFICER),
    "officer-role-revoke": ("post", {"issuer_id": "issuer", "grant_id": "grant"}, {}, OFFICER),
    "officer-distributions": ("get", {"issuer_id": "issuer"}, {}, READERS),  # officers pay, the others read
    "officer-uses-of-funds": ("get", {"issue_id": "issue"}, {}, READERS),  # officers report, the others read
    "officer-update-post": ("get", {"issue_id": "issue"}, {}, OFFICER),
    # The issuer's books: its officers and auditors, and staff.
    "ledger-entries": ("get", {}, {"issuer": "issuer"}, READERS),
    "ledger-balances": ("get", {}, {"issuer": "issuer"}, READERS),
    "ledger-verify": ("get", {}, {"issuer": "issuer"}, READERS),
    "ledger-statement-csv": ("get", {}, {"issuer": "issuer"}, READERS),
    "ledger-statement-pdf": ("get", {}, {"issuer": "issuer"}, READERS),
    "compliance-decisions": ("get", {}, {"issuer": "issuer"}, READERS),
    "compliance-decisions-csv": ("get", {}, {"issuer": "issuer"}, READERS),
    "interest-run": ("get", {"run_id": "run"}, {}, READERS),
    "issue-register": ("get", {"issue_id": "issue"}, {}, REGISTER),
    "officer-register": ("get", {"issue_id": "issue"}, {}, REGISTER),
    "auditor-issuer": ("get", {"issuer_id": "issuer"}, {}, READERS),
    "auditor-statement-jobs": ("get", {"issuer_id": "issuer"}, {}, READERS),
    "auditor-ledger": ("get", {"issuer_id": "issuer"}, {}, READERS),
    "auditor-decisions": ("get", {"issuer_id": "issuer"}, {}, READERS),
    "ledger-statement-jobs": ("post", {}, {"issuer": "issuer"}, READERS),
    "ledger-statement-job": "a job is its requester's: tests/ledger/test_statement_jobs.py",
    "ledger-statement-job-pdf": "a job is its requester's: tests/ledger/test_statement_jobs.py",
    "holding-certificate-pdf": ("get", {"holding_id": "holding"}, {}, OWNER | REGISTER),
    "issue-register-csv": ("get", {"issue_id": "issue"}, {"as_at": "today"}, REGISTER),
    "my-statement-pdf": ("get", {}, {"year": 2025}, SIGNED_IN),
    "my-statement-json": ("get", {}, {"year": 2025}, SIGNED_IN),
}


def routes() -> dict[str, str]:
    """Every named route outside the admin and static files: {name: path pattern}."""
    found: dict[str, str] = {}

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and pattern.name:
                path = prefix + str(pattern.pattern)
                if not path.startswith(("admin/", "static/")):
                    found.setdefault(pattern.name, path)

    walk(get_resolver().url_patterns)
    return found


def test_every_route_has_a_policy():
    missing = sorted(set(routes()) - set(MATRIX))
    assert not missing, f"routes with no access policy in MATRIX: {missing}"


@pytest.fixture
def world(
    society,
    cic,
    officer,
    auditor,
    staff,
    resident,
    make_user,
    allotted_holding,
    open_issue,
    photo_bytes,
    django_capture_on_commit_callbacks,
):
    """One of everything, owned by `resident` in `society`'s books."""
    holding = allotted_holding(allotted_on=timezone.localdate() - dt.timedelta(days=400))
    issue = holding.issue
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = interest_runs.interest_run_request(
            actor=officer, issue_id=issue.pk, period_end=add_months(holding.allotted_on, 12)
        )
    request, _ = redemptions.redemption_request_create(
        actor=resident, holding_id=holding.pk, amount_pence=100_00
    )
    refund = Refund.objects.create(
        subscription=holding.subscription,
        amount_pence=1_00,
        reason="overpayment",
        provider="bank_transfer",
        idempotency_key="matrix",
    )
    officer_b, auditor_b = (
        make_user("oona_other_officer", resident=False),
        make_user("abe_other_auditor", resident=False),
    )
    RoleGrant.objects.create(issuer=cic, user=officer_b, role="finance_officer")
    RoleGrant.objects.create(issuer=cic, user=auditor_b, role="auditor")
    people = {
        "anonymous": None,
        "owner": resident,
        "other_resident": make_user("rory_other_resident"),
        "officer": officer,
        "auditor": auditor,
        "officer_b": officer_b,
        "auditor_b": auditor_b,
        "staff": staff,
    }
    objects = {
        "issuer": society.pk,
        "issue": issue.pk,
        "draft": open_issue(society, officer, open_it=False).pk,
        "subscription": holding.subscription_id,
        "holding": holding.pk,
        "run": run.pk,
        "redemption": request.pk,
        "refund": refund.pk,
        "batch": PayoutBatch.objects.get(issuer=society).pk,
        "today": timezone.localdate().isoformat(),
        "grant": RoleGrant.objects.get(issuer=society, user=auditor).pk,
        "officer_user": officer.pk,
        "auditor_user": auditor.pk,
        "update": bondholder_update_post(
            actor=officer,
            issue_id=issue.pk,
            title="News",
            body="The kitchen is open.",
            photo=photo_bytes(),
            photo_alt="The kitchen",
        ).pk,
    }
    assert Issuer.objects.count() == 2
    return people, objects


@pytest.fixture
def client_as(api_client_for):
    """client_as(path, user) -> an API client with a token for an API path, else a signed-in web client."""

    def client_for_path(path: str, user):
        if path.startswith("api/"):
            return APIClient() if user is None else api_client_for(user)
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return client_for_path


def _refused(response, persona: str, *, api: bool) -> bool:
    to_sign_in = response.status_code == 302 and "/accounts/login" in response.get("Location", "")
    if persona == "anonymous":
        # The API asks for credentials (401); a page sends to sign-in, or hides itself (404).
        return response.status_code == 401 if api else (to_sign_in or response.status_code == 404)
    return response.status_code in (403, 404) or to_sign_in


def test_every_persona_is_let_in_exactly_where_the_policy_says(world, client_as):
    people, objects = world
    paths = routes()
    wrong = []
    for name, policy in sorted(MATRIX.items()):
        if isinstance(policy, str) or name not in paths:
            continue
        method, kwargs, query, allowed = policy
        url = "/" + paths[name]
        for key, ref in kwargs.items():
            url = url.replace(f"<int:{key}>", str(objects[ref]))
        params = {k: objects.get(v, v) if isinstance(v, str) else v for k, v in query.items()}
        for persona in PERSONAS:
            if method in ("post", "delete") and persona in allowed:
                continue  # see the module docstring
            client = client_as(paths[name], people[persona])
            if method == "get":
                response = client.get(url, params)
            elif method == "delete":
                response = client.delete(url)
            elif paths[name].startswith("api/"):
                response = client.post(url, params, format="json")  # a POST's parameters are its body
            else:
                response = client.post(url, params)
            refused = _refused(response, persona, api=paths[name].startswith("api/"))
            if refused == (persona in allowed):
                wrong.append(f"{name} as {persona}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
