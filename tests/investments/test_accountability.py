"""Horizontal accountability: uses of funds tied to the ledger, the transparency figures with the
signed head, and the public page that explains how to check a statement against it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone

from compliance.models import Decision, Outcome
from investments.models import UseOfFunds
from issuers.models import Issuer, RoleGrant
from ledger.canonical import signed_bytes
from ledger.models import LedgerEntry
from ledger.signing import checkpoint_sign, public_key_info

pytestmark = pytest.mark.django_db


@pytest.fixture
def distribute(api_client_for):
    def distribute(officer, issuer, amount, *, kind="consideration", key=None, **extra) -> int:
        """An officer pays a supplier: returns the sequence of the ledger entry that paid it."""
        body = {
            "kind": kind,
            "recipient_name": "Hall Builders Ltd",
            "invoice_reference": "INV-1",
            "amount": amount,
            "purpose": "Roof",
            **extra,
        }
        response = api_client_for(officer).post(
            f"/api/v1/issuers/{issuer.pk}/distributions/",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY=key or f"pay-{amount}-{kind}",
        )
        assert response.status_code == 201, response.content
        return response.json()["ledger_entry"]["sequence"]

    return distribute


@pytest.fixture
def report(api_client_for):
    def report(user, issue, amount, sequence, **extra):
        body = {
            "amount": amount,
            "purpose": "New roof for the community hall",
            "spent_on": timezone.localdate().isoformat(),
            "evidence_url": "https://example.org/minutes/roof.pdf",
            "ledger_sequence": sequence,
            **extra,
        }
        return api_client_for(user).post(f"/api/v1/issues/{issue.pk}/uses-of-funds/", body, format="json")

    return report


def test_officers_report_uses_tied_to_the_payments_and_anyone_reads_them(
    society, officer, resident, outsider, allotted, distribute, report, assert_error, api_client_for
):
    issue = allotted(society, officer, resident)  # £1,000 raised
    roof = distribute(officer, society, "600.00")
    first = report(officer, issue, "400.00", roof)
    assert first.status_code == 201, first.content
    assert first.json()["ledger_entry"] == {
        "sequence": roof,
        "hash": LedgerEntry.objects.get(issuer=society, sequence=roof).hash,
    }
    assert report(officer, issue, "200.00", roof, purpose="Gutters").status_code == 201
    # The payment is fully reported: not a penny more against it.
    body = assert_error(report(officer, issue, "0.01", roof), 422, "exceeds_ledger_entry")
    assert (body["paid_pence"], body["reported_pence"]) == (600_00, 600_00)
    assert Decision.objects.get(rule="use_of_funds", outcome=Outcome.DENY).subject_id == str(issue.pk)

    listed = api_client_for(None).get(f"/api/v1/issues/{issue.pk}/uses-of-funds/").json()
    assert [(u["amount"], u["purpose"]) for u in listed["results"]] == [
        ("400.00", "New roof for the community hall"),
        ("200.00", "Gutters"),
    ]
    assert "recipient_name" not in listed["results"][0]  # the payee may be a person
    figures = api_client_for(outsider).get(f"/api/v1/issues/{issue.pk}/transparency/").json()
    assert (figures["raised"], figures["uses_of_funds_total"]) == ("1000.00", "600.00")


def test_a_use_is_never_more_than_the_issue_raised(
    society, officer, resident, allotted, distribute, report, assert_error
):
    issue = allotted(society, officer, resident)
    big = distribute(officer, society, "1500.00")
    assert report(officer, issue, "1000.00", big).status_code == 201
    body = assert_error(report(officer, issue, "0.01", big), 422, "exceeds_funds_raised")
    assert (body["raised_pence"], body["reported_pence"]) == (1000_00, 1000_00)


def test_only_a_payment_for_spending_can_be_a_use(
    society, officer, resident, make_user, allotted, assert_error, report, distribute
):
    issue = allotted(society, officer, resident)
    receipt = LedgerEntry.objects.get(issuer=society, kind="subscription_payment").sequence
    assert_error(report(officer, issue, "1.00", receipt), 400, "not_a_spending_entry")
    assert_error(report(officer, issue, "1.00", 999), 400, "not_a_spending_entry")
    # Another issuer's payment is not this issue's.
    other = Issuer.objects.create(
        name="Elsewhere Co-op",
        legal_form="cooperative_society",
        asset_lock_basis="articles",
        max_interest_rate_percent=Decimal("3.00"),
    )
    other_officer = make_user("otto_officer", resident=False)
    RoleGrant.objects.create(issuer=other, user=other_officer, role="finance_officer")
    elsewhere = distribute(other_officer, other, "50.00", key="elsewhere")
    assert not LedgerEntry.objects.filter(issuer=society, sequence=elsewhere, kind="distribution").exists()
    assert_error(report(officer, issue, "1.00", elsewhere), 400, "not_a_spending_entry")
    # A transfer to another asset-locked body is spending too.
    transfer = distribute(
        officer,
        society,
        "100.00",
        kind="transfer_to_asset_locked_body",
        recipient_asset_locked=True,
        recipient_registration_number="IP777R",
    )
    assert report(officer, issue, "100.00", transfer).status_code == 201


def test_who_reports_and_when(
    society,
    officer,
    resident,
    auditor,
    allotted,
    distribute,
    assert_error,
    report,
    make_issue,
    api_client_for,
):
    issue = allotted(society, officer, resident)
    paid = distribute(officer, society, "10.00")
    assert_error(report(resident, issue, "1.00", paid), 403, "not_an_officer")
    assert_error(report(auditor, issue, "1.00", paid), 403, "not_an_officer")
    assert report(None, issue, "1.00", paid).status_code == 401
    assert report(officer, issue, "1.00", paid, spent_on="2999-01-01").status_code == 400
    assert report(officer, issue, "1.00", paid, evidence_url="javascript:alert(1)").status_code == 400
    assert report(officer, issue, "1.00", paid, evidence_url="ftp://example.org/x").status_code == 400
    assert report(officer, issue, "1.00", paid, evidence_url="").status_code == 201
    still_open = make_issue(society, officer)
    assert_error(report(officer, still_open, "1.00", paid), 409, "no_funds_raised")
    draft = make_issue(society, officer, open_it=False)
    assert api_client_for(None).get(f"/api/v1/issues/{draft.pk}/uses-of-funds/").status_code == 404
    assert UseOfFunds.objects.count() == 1


def test_the_transparency_figures_carry_the_latest_signed_head(
    society, officer, resident, allotted, api_client_for, distribute
):
    issue = allotted(society, officer, resident)
    before = api_client_for(None).get(f"/api/v1/issues/{issue.pk}/transparency/").json()
    assert before["ledger_head"] == {
        "sequence": 0,
        "hash": "0" * 64,
        "signature": None,
        "key_id": None,
        "algorithm": None,
        "signed_at": None,
        "tree_size": None,
        "merkle_root": None,
    }
    assert before["ledger_tip"]["sequence"] == 2  # the receipt and the allotment
    checkpoint = checkpoint_sign(issuer=society)
    distribute(officer, society, "5.00")  # after the checkpoint: not yet signed
    head = api_client_for(None).get(f"/api/v1/issues/{issue.pk}/transparency/").json()["ledger_head"]
    assert (head["sequence"], head["hash"], head["key_id"]) == (2, checkpoint.hash, checkpoint.key_id)
    # Anyone can check the signature with the served public key, from these fields alone.
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_info().public_key_hex))
    key.verify(
        bytes.fromhex(head["signature"]),
        signed_bytes(
            issuer_id=society.pk,
            sequence=head["sequence"],
            hash=head["hash"],
            signed_at=head["signed_at"],
            key_id=head["key_id"],
            tree_size=head["tree_size"],
            merkle_root=head["merkle_root"],
        ),
    )


def test_the_public_page_shows_the_figures_the_uses_and_how_to_check(
    society, officer, resident, allotted, distribute, report, api_client_for, make_issue
):
    issue = allotted(society, officer, resident)
    paid = distribute(officer, society, "250.00")
    assert (
        report(officer, issue, "250.00", paid, purpose="<script>alert(1)</script> Boiler").status_code == 201
    )
    checkpoint = checkpoint_sign(issuer=society)
    page = api_client_for(None).get(f"/issues/{issue.pk}/transparency/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "£1,000.00" in html  # raised
    assert 'id="uses-total">£250.00<' in html and "25 % of what was raised" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Boiler" in html and "<script>alert" not in html
    assert f"#{paid}" in html
    assert checkpoint.hash in html and checkpoint.signature in html
    assert "tools/verify_statement.py" in html
    assert public_key_info().public_key_hex in html
    draft = make_issue(society, officer, open_it=False)
    assert api_client_for(None).get(f"/issues/{draft.pk}/transparency/").status_code == 404
    assert api_client_for(None).get("/issues/999999/transparency/").status_code == 404


def test_the_page_says_when_nothing_is_signed_or_reported_yet(society, officer, make_issue, api_client_for):
    issue = make_issue(society, officer, closes_at=timezone.now() + dt.timedelta(days=3))
    html = api_client_for(None).get(f"/issues/{issue.pk}/transparency/").content.decode()
    assert "No use of this money has been reported yet." in html
    assert "has not been signed yet" in html
