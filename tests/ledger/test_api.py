"""The ledger over HTTP: who may read, what they see, and that it is enough to re-check the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import NotAuthenticated

from bondplatform.errors import NotFound, NotPermitted
from issuers.models import RoleGrant
from ledger.models import EntryKind
from ledger.selectors import ledger_issuer_get
from ledger.services import Posting, entry_post, entry_reverse
from ledger.signing import checkpoint_sign

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/ledger/entries/", "/api/v1/ledger/balances/", "/api/v1/ledger/verify/"]


@pytest.fixture
def books(society, pay_in, value_date):
    pay_in(society, "bank:1", 25_000)
    entry_post(
        issuer=society,
        kind=EntryKind.ALLOTMENT,
        value_date=dt.date(2025, 5, 1),
        description="Allotment of holding 7",
        idempotency_key="allot:7",
        postings=[Posting("subscriptions_held", 25_000), Posting("bond_principal:7", -25_000)],
    )
    bounced = pay_in(society, "bank:2", 1_050)
    entry_reverse(
        entry=bounced, value_date=value_date, description="Bounced", idempotency_key="bank:2:bounced"
    )
    return society


@pytest.mark.parametrize("persona", ["officer", "auditor", "staff"])
@pytest.mark.parametrize("path", PATHS)
def test_officers_auditors_and_staff_read_the_books(books, persona, path, request, api_client_for):
    response = api_client_for(request.getfixturevalue(persona)).get(f"{path}?issuer={books.pk}")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("persona", ["resident", "outsider"])
@pytest.mark.parametrize("path", PATHS)
def test_residents_and_outsiders_are_refused(books, persona, path, request, api_client_for):
    response = api_client_for(request.getfixturevalue(persona)).get(f"{path}?issuer={books.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_officer_or_auditor"


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_callers_must_sign_in(books, path, api_client_for):
    response = api_client_for(None).get(f"{path}?issuer={books.pk}")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("path", PATHS)
def test_an_officer_of_another_issuer_is_refused(books, cic, make_user, path, api_client_for):
    other = make_user("cora_cic_officer", resident=False)
    RoleGrant.objects.create(issuer=cic, user=other, role="finance_officer")
    assert api_client_for(other).get(f"{path}?issuer={books.pk}").status_code == 403
    assert api_client_for(other).get(f"{path}?issuer={cic.pk}").status_code == 200


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("query", "status"), [("", 400), ("?issuer=abc", 400), ("?issuer=-1", 400), ("?issuer=999999", 404)]
)
def test_a_missing_bad_or_unknown_issuer(books, staff, path, query, status, api_client_for):
    response = api_client_for(staff).get(f"{path}{query}")
    assert response.status_code == status
    body = response.json()
    assert set(body) >= {"code", "detail", "fields"}
    if status == 400:
        assert body["code"] == "invalid_query" and "issuer" in body["fields"]
    else:
        assert body["code"] == "issuer_not_found"


def test_entries_carry_money_as_strings_and_everything_their_hash_covers(books, auditor, api_client_for):
    body = api_client_for(auditor).get(f"/api/v1/ledger/entries/?issuer={books.pk}").json()
    assert body["count"] == 4 and body["next"] is None
    first, second, _, reversal = body["results"]
    assert first["sequence"] == 1 and first["kind"] == "subscription_payment"
    assert first["postings"] == [
        {"account": "cash_at_bank", "debit": "250.00", "credit": "0.00", "currency": "GBP"},
        {"account": "subscriptions_held", "debit": "0.00", "credit": "250.00", "currency": "GBP"},
    ]
    assert first["prev_hash"] == "0" * 64 and second["prev_hash"] == first["hash"]
    assert reversal["reverses"] == 3 and reversal["postings"][0]["credit"] == "10.50"

    # An auditor's own few lines re-derive every hash from the API's output alone.
    previous = "0" * 64
    for entry in body["results"]:
        postings = []
        for p in entry["postings"]:
            pence = int((Decimal(p["debit"]) - Decimal(p["credit"])) * 100)
            postings.append([p["account"], p["currency"], pence])
        canonical = json.dumps(
            {
                "description": entry["description"],
                "idempotency_key": entry["idempotency_key"],
                "issuer": books.pk,
                "kind": entry["kind"],
                "postings": postings,
                "recorded_at": entry["recorded_at"],
                "reverses": entry["reverses"],
                "sequence": entry["sequence"],
                "v": 1,
                "value_date": entry["value_date"],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        assert entry["prev_hash"] == previous
        assert hashlib.sha256((previous + canonical).encode("ascii")).hexdigest() == entry["hash"]
        previous = entry["hash"]


def test_entries_are_paginated_and_filtered_by_value_date(books, officer, api_client_for):
    client = api_client_for(officer)
    page = client.get(f"/api/v1/ledger/entries/?issuer={books.pk}&limit=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    may = client.get(f"/api/v1/ledger/entries/?issuer={books.pk}&since=2025-05-01&until=2025-05-31").json()
    assert [e["sequence"] for e in may["results"]] == [2]
    bad = client.get(f"/api/v1/ledger/entries/?issuer={books.pk}&since=2025-05-31&until=2025-05-01")
    assert bad.status_code == 400 and "until" in bad.json()["fields"]
    assert client.get(f"/api/v1/ledger/entries/?issuer={books.pk}&since=yesterday").status_code == 400


def test_the_trial_balance_balances(books, officer, api_client_for):
    body = api_client_for(officer).get(f"/api/v1/ledger/balances/?issuer={books.pk}").json()
    assert body["balanced"] is True
    assert body["totals"] == [{"currency": "GBP", "debit": "250.00", "credit": "250.00"}]
    rows = {row["account"]: (row["debit"], row["credit"]) for row in body["accounts"]}
    assert rows == {
        "bond_principal:7": ("0.00", "250.00"),
        "cash_at_bank": ("250.00", "0.00"),
        "subscriptions_held": ("0.00", "0.00"),
    }
    assert body["head"]["sequence"] == 4


def test_verify_reports_a_valid_chain_and_then_the_first_tampered_entry(
    books, auditor, api_client_for, tamper
):
    client = api_client_for(auditor)
    body = client.get(f"/api/v1/ledger/verify/?issuer={books.pk}").json()
    assert body["valid"] is True and body["entries_checked"] == 4
    assert body["head"]["sequence"] == 4 and len(body["head"]["hash"]) == 64
    assert body["first_invalid_sequence"] is None

    tamper("UPDATE investments_ledgerentry SET description = 'Allotment of holding 8' WHERE sequence = 2")
    body = client.get(f"/api/v1/ledger/verify/?issuer={books.pk}").json()
    assert body["valid"] is False and body["first_invalid_sequence"] == 2


def test_an_empty_ledger_verifies(society, officer, api_client_for):
    body = api_client_for(officer).get(f"/api/v1/ledger/verify/?issuer={society.pk}").json()
    assert body == {
        "valid": True,
        "entries_checked": 0,
        "head": {"sequence": 0, "hash": "0" * 64},
        "first_invalid_sequence": None,
        "reason": "",
    }


def test_the_public_key_is_for_anyone(books, settings, api_client_for):
    settings.LEDGER_SIGNING_KEY = "42" * 32

    checkpoint = checkpoint_sign(issuer=books)
    body = api_client_for(None).get("/api/v1/ledger/public-key/").json()
    assert body["algorithm"] == "Ed25519" and len(body["public_key_hex"]) == 64 and len(body["key_id"]) == 32
    assert body["latest_checkpoint"] is None
    body = api_client_for(None).get(f"/api/v1/ledger/public-key/?issuer={books.pk}").json()
    signed = body["latest_checkpoint"]
    assert signed["sequence"] == 4 and signed["hash"] == checkpoint.hash

    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(body["public_key_hex"]))
    key.verify(
        bytes.fromhex(signed["signature"]), signed["signed_message"].encode("ascii")
    )  # raises if forged
    assert json.loads(signed["signed_message"])["hash"] == checkpoint.hash
    assert api_client_for(None).get("/api/v1/ledger/public-key/?issuer=x").status_code == 400


def test_the_selector_itself_checks_who_reads_the_books(books, officer, auditor, staff, resident, outsider):
    """Not only the API: the auditor's page or a report finding the issuer this way is refused too."""
    for reader in (officer, auditor, staff):
        assert ledger_issuer_get(books.pk, actor=reader) == books
    for refused in (resident, outsider):
        with pytest.raises(NotPermitted):
            ledger_issuer_get(books.pk, actor=refused)
    with pytest.raises(NotAuthenticated):
        ledger_issuer_get(books.pk, actor=AnonymousUser())
    with pytest.raises(NotFound):  # 404 before 403
        ledger_issuer_get(books.pk + 1000, actor=resident)
