"""The served schema, fuzzed: schemathesis against a live server, as four callers, with every check.

A live server (pytest-django's `live_server`) runs on the test database,
seeded with one issuer's world: an officer, an auditor and a resident of it,
a draft issue, an open issue with a pending subscription, a closed issue paid
for and waiting for allotment, and an active issue with holdings.
Schemathesis (its command line, as CI tools run it) reads `/api/schema/` and
sends what the schema allows and what it forbids,
as an anonymous caller, the resident, the officer and the auditor, and runs
all its checks on each answer: no 5xx, every status and body as documented,
valid data accepted (or refused by a business rule, 422), invalid data
refused, authentication enforced where it is declared.

Path ids are drawn mostly from the seeded objects' ids (a schemathesis
dictionary), so the fuzzer reaches real issues, subscriptions and holdings
instead of answering 404 all day; request bodies carry examples and money
patterns, so it can open, close and allot issues, record payments and ask
for interest runs.

Bounded: FUZZ_EXAMPLES examples per operation and phase (default 8); the
run takes a few minutes on two cores. `FUZZ_EXAMPLES=50 make test
PYTEST_ARGS=tests/test_schema_fuzz.py` fuzzes harder.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from investments.interest import coupon_dates
from investments.models import Holding, Subscription
from issuers.models import RoleGrant
from people.services.tokens import auth_token_create

# Ids from 1, as the schema's examples assume (`"issuer": 1`).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# Every operation and persona within this, or the run is too slow for `make test`.
BUDGET_SECONDS = 600


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, response.content
    return response.json()


@pytest.fixture
def world(make_user, society, officer, auditor, resident, api_client_for, make_issue):
    """One issuer's objects, made through the API as its people would."""
    other = make_user("sam_saver", full_name="Sam Saver", postcode="S2 5AB")
    draft = make_issue(society, officer, open_it=False, name="Draft bond")
    open_issue = make_issue(society, officer, name="Open bond")
    pending = _ok(
        api_client_for(resident).post(
            f"/api/v1/issues/{open_issue.pk}/subscriptions/",
            {"amount": "200.00", "payment_method": "bank_transfer"},
            format="json",
        )
    )
    # An active issue, allotted a year and a day ago, so a coupon date has passed.
    with time_machine.travel(timezone.now() - dt.timedelta(days=367)):
        active = make_issue(
            society,
            officer,
            name="Active bond",
            coupon_rate_percent=Decimal("4.00"),
            term_months=36,
            interest_frequency="annual",
        )
        for user, amount in ((resident, "1000.00"), (other, "2000.00")):
            sub = _ok(
                api_client_for(user).post(
                    f"/api/v1/issues/{active.pk}/subscriptions/",
                    {"amount": amount, "payment_method": "bank_transfer"},
                    format="json",
                )
            )
            _ok(
                api_client_for(officer).post(
                    f"/api/v1/subscriptions/{sub['id']}/record-payment/",
                    {
                        "amount": amount,
                        "reference": sub["payment"]["reference"],
                        "received_on": timezone.localdate().isoformat(),
                    },
                    format="json",
                )
            )
        _ok(api_client_for(officer).post(f"/api/v1/issues/{active.pk}/close/"))
        _ok(api_client_for(officer).post(f"/api/v1/issues/{active.pk}/allot/"))
    active.refresh_from_db()
    # A closed issue, paid for and not yet allotted: what an allotment acts on.
    closed = make_issue(society, officer, name="Closed bond")
    sub = _ok(
        api_client_for(other).post(
            f"/api/v1/issues/{closed.pk}/subscriptions/",
            {"amount": "500.00", "payment_method": "bank_transfer"},
            format="json",
        )
    )
    _ok(
        api_client_for(officer).post(
            f"/api/v1/subscriptions/{sub['id']}/record-payment/",
            {
                "amount": "500.00",
                "reference": sub["payment"]["reference"],
                "received_on": timezone.localdate().isoformat(),
            },
            format="json",
        )
    )
    assert _ok(api_client_for(officer).post(f"/api/v1/issues/{closed.pk}/close/"))["status"] == "closed"
    return {
        "issuer": society,
        "references": list(Subscription.objects.values_list("reference", flat=True)),
        "coupon_dates": [
            d.isoformat()
            for d in coupon_dates(
                allotted_on=active.allotted_on,
                term_months=active.term_months,
                frequency=active.interest_frequency,
            )
        ][:2],
        "issues": [draft.pk, open_issue.pk, active.pk],
        "subscriptions": list(Subscription.objects.values_list("pk", flat=True)),
        "holdings": list(Holding.objects.values_list("pk", flat=True)),
        "draft": draft.pk,
        "active": active.pk,
        "closed": closed.pk,
        "pending": pending["id"],
        "pending_reference": pending["payment"]["reference"],
        "people": {"resident": resident, "officer": officer, "auditor": auditor},
    }


# Where input the schema allows can still be bad input (400), because what makes it good is
# beyond what JSON Schema can say; for these alone, valid-looking data may answer 400.
BEYOND_THE_SCHEMA = {
    "POST /api/v1/auth/register/": "a name or address already taken, a postcode that is not a UK one, a weak password",
    "POST /api/v1/auth/token/": "credentials only the server can check",
    "POST /api/v1/auth/verify-email/": "a signed token only the server can check",
    "POST /api/v1/me/two-factor/": "the caller's own current password",
    "DELETE /api/v1/me/two-factor/": "the caller's own current password",
    "POST /api/v1/me/two-factor/confirm/": "a code from the caller's authenticator",
    "POST /api/v1/payments/stripe/webhook/": "Stripe's signature of the body",
    "PUT /api/v1/me/payout-account/": "an IBAN's checksum, a UK account's shape",
    "POST /api/v1/issuers/": "the asset lock that goes with a legal form, a CIC's rate cap",
    "POST /api/v1/issues/": "terms that agree with each other (min <= max, closes after opens), an issuer that exists",
    "PATCH /api/v1/issues/{issue_id}/": "terms that agree with each other",
    "POST /api/v1/issues/{issue_id}/allot/": "an allotment date from the offer's opening to today",
    "POST /api/v1/issuers/{issuer_id}/bank-statements/": "the statement file's content",
    "GET /api/v1/ledger/entries/": "since not after until",
    "GET /api/v1/ledger/statement.csv": "from not after to (today by default)",
    "GET /api/v1/ledger/statement.pdf": "from not after to; a statement short enough for a PDF",
    "GET /api/v1/issuers/{issuer_id}/interest-return.csv": "from not after to",
    "POST /api/v1/subscriptions/{subscription_id}/record-payment/": "a received_on from a week before the offer opened to today",
    "GET /api/v1/compliance/decisions/": "an issue of that issuer",
    "GET /api/v1/compliance/decisions.csv": "an issue of that issuer",
    "GET /api/v1/ledger/consistency-proof/": "tree sizes the issuer's ledger has, first not after second",
    "POST /api/v1/ledger/statement-jobs/": "from not after to (today by default)",
    "GET /api/v1/issues/{issue_id}/register.csv": "an as_at that has come",
    "GET /api/v1/me/statement.json": "a tax year that has begun",
    "GET /api/v1/me/statement.pdf": "a tax year that has begun",
    "POST /api/v1/issuers/{issuer_id}/winding-up/": "a date that has come",
    "POST /api/v1/issues/{issue_id}/uses-of-funds/": "the ledger entry of a distribution that paid for it, "
    "a spent_on that has come, a web address Django's validator takes",
    "POST /api/v1/issues/{issue_id}/updates/": "a photo whose bytes are a JPEG, PNG or WebP image, described by photo_alt; a published_on from the offer's opening to today",
}
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]


def _token(user) -> str:
    return auth_token_create(user=user, verified_device=None)[1]


def _config(world, path: Path) -> Path:
    """schemathesis.toml: path ids drawn mostly from the seeded objects."""
    ids = {
        "issuer_id": [world["issuer"].pk],
        "issue_id": world["issues"],
        "subscription_id": world["subscriptions"],
        "holding_id": world["holdings"],
    }
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {sorted(set(values))!r}", ""]
    # Bodies that reach the money: real payment references, the active issue's coupon dates.
    bodies = {"reference": world["references"], "period_end": world["coupon_dates"]}
    for name, values in bodies.items():
        lines += [f"[dictionaries.{name}]", f"values = {sorted(set(values))!r}", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    for name in bodies:
        lines.append(f'"body.{name}" = {{ dictionary = "{name}", probability = 0.6 }}')
    lines += [
        "",
        "[checks.positive_data_acceptance]",
        # A business rule may refuse valid data: 422 is how the API says so (API.md, Errors).
        f"expected-statuses = {POSITIVE_STATUSES!r}",
    ]
    # The operations that move money, each pinned to the one object it can act on, so that a
    # bounded run reaches them: open the draft, allot the closed issue, record the pending
    # payment, run the interest. (Unpinned, allotment was reached only when the operations
    # before it happened to leave an issue closed and paid for.)
    pinned = {
        "POST /api/v1/issues/{issue_id}/open/": {"path.issue_id": world["draft"]},
        "POST /api/v1/issues/{issue_id}/allot/": {"path.issue_id": world["closed"]},
        "POST /api/v1/subscriptions/{subscription_id}/record-payment/": {
            "path.subscription_id": world["pending"],
            "body.reference": world["pending_reference"],
            # A day the money can have arrived: from a week before the offer opened to today.
            "body.received_on": timezone.localdate().isoformat(),
        },
        "POST /api/v1/issues/{issue_id}/interest-runs/": {"path.issue_id": world["active"]},
    }
    for name, values in pinned.items():
        lines += ["", "[[operations]]", f'include-name = "{name}"', "[operations.parameters]"]
        lines += [f'"{key}" = {value!r}' for key, value in values.items()]
        if name in BEYOND_THE_SCHEMA:  # one block per operation: its checks go with its parameters
            lines += [
                "[operations.checks.positive_data_acceptance]",
                f"expected-statuses = {[*POSITIVE_STATUSES, '400']!r}",
            ]
    for name in BEYOND_THE_SCHEMA:
        if name in pinned:
            continue
        lines += [
            "",
            "[[operations]]",
            f'include-name = "{name}"',
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {[*POSITIVE_STATUSES, '400']!r}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(live_server, schema: Path, config: Path, token: str | None, report: Path) -> list[str]:
    command = [
        shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        str(schema),
        "--url",
        live_server.url,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261130",
        "--workers",
        "1",
        "--no-color",
        "--output-truncate",
        "true",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if token:
        # Signing out would end the token the rest of the run uses.
        command += ["--header", f"Authorization: Token {token}", "--exclude-path", "/api/v1/auth/logout/"]
    return command


def test_the_schema_holds_under_fuzzing_for_every_caller(live_server, world, tmp_path, settings, caplog):
    # Thousands of requests: their log lines (and refusals' 4xx) would bury the report.
    caplog.set_level(logging.ERROR, logger="bondplatform.requests")
    caplog.set_level(logging.CRITICAL, logger="django.request")
    # Webhooks the fuzzer sends while no STRIPE_WEBHOOK_SECRET is set: each one an ERROR line.
    caplog.set_level(logging.CRITICAL, logger="investments.payments.stripe_client")
    # Officers act in the live server as they would in production, without a second factor set up.
    assert RoleGrant.objects.filter(user=world["people"]["officer"]).exists()
    config = _config(world, tmp_path / "schemathesis.toml")
    # The served schema, read once: four callers asking for it at once on a busy machine
    # could wait past schemathesis' 10 s for loading it.
    schema = tmp_path / "schema.yaml"
    with urllib.request.urlopen(f"{live_server.url}/api/schema/", timeout=60) as served:
        schema.write_bytes(served.read())
    tokens = {"anonymous": None}
    for persona, user in world["people"].items():
        tokens[persona] = _token(user)
    started = time.monotonic()
    # The four callers at once: the live server answers each on its own thread.
    runs = {}
    for persona, token in tokens.items():
        log = (tmp_path / f"{persona}.log").open("w")
        command = _command(live_server, schema, config, token, tmp_path / f"{persona}.ndjson")
        runs[persona] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log)
    failures = []
    for persona, (process, log) in runs.items():
        try:
            code = process.wait(timeout=max(1, BUDGET_SECONDS - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            process.kill()
            code = "timed out"
        log.close()
        output = (tmp_path / f"{persona}.log").read_text()
        if code != 0:
            failures.append(f"--- {persona}: {code} ---\n{output[-15000:]}")
    elapsed = time.monotonic() - started
    cases, accepted = _tally(tmp_path.glob("*.ndjson"))
    print(
        f"schemathesis: 4 callers, {cases} requests, {EXAMPLES} examples per operation and phase, {elapsed:.0f} s"
    )
    assert not failures, "\n\n".join(failures)
    # The fuzzer got through to the money, not only to refusals.
    for operation in MUST_REACH:
        assert accepted[operation], f"the fuzzer never had {operation} accepted: {dict(accepted)}"


MUST_REACH = (
    "POST /api/v1/issues/",
    "POST /api/v1/issues/{issue_id}/open/",
    "POST /api/v1/issues/{issue_id}/allot/",
    "POST /api/v1/subscriptions/{subscription_id}/record-payment/",
    "POST /api/v1/issues/{issue_id}/interest-runs/",
)


def _tally(reports) -> tuple[int, Counter]:
    """Requests sent, and 2xx answers per operation, from schemathesis' NDJSON reports."""
    cases, accepted = 0, Counter()
    for report in reports:
        for line in report.open():
            event = json.loads(line)
            recorder = event.get("ScenarioFinished", {}).get("recorder")
            if not recorder:
                continue
            for interaction in recorder.get("interactions", {}).values():
                cases += 1
                status = (interaction.get("response") or {}).get("status_code") or 0
                method = (interaction.get("request") or {}).get("method", "")
                # (Not the OPTIONS probes, which DRF answers for any path.)
                if 200 <= status < 300 and recorder["label"].startswith(f"{method} "):
                    accepted[recorder["label"]] += 1
    return cases, accepted
