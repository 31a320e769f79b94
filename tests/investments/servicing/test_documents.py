"""The documents residents keep, and the register as at a date, against the ledger.

Rita holds two bonds allotted on 2 March 2026 (tax year 2025-26):
- £1,000 of Park Hill Energy CIC's 4 % annual bond. The CIC deducts 20 %
  tax. On 1 April 2026 she asks for £400 back; the redemption date is 30
  June 2026 (tax year 2026-27), with 120 days' interest on the £400:
  400 x 4 % x 120/365 = £5.26, tax £1.05, net £4.21. The coupon of 2 March
  2027 is on the £600 left: £24.00, tax £4.80, net £19.20.
- £500 of the Citylife Society's 4 % annual bond, whose interest she waives:
  the coupon of 2 March 2027, £20.00, is waived.
Her statement for the tax year 2026 (6 April 2026 to 5 April 2027) shows it
line by line, each with its ledger sequence, and adds up to the ledger.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf import PdfReader

from investments import accounts
from investments.documents.certificates import certificate_pdf, verification_code
from investments.models import BondIssue
from issuers.models import RoleGrant
from ledger import merkle
from ledger.canonical import chain_hash, entry_canonical_bytes
from ledger.models import LedgerEntry
from ledger.proofs import IssuerTree
from ledger.signing import checkpoint_sign

pytestmark = pytest.mark.django_db


def on(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def rita(society, cic, officer, cic_officer, resident, allot, run_interest, signing_key, api_client_for):
    """Rita's two holdings through their first year, as told above: {"cic": holding, "society": holding}."""
    cic_issue, cic_holdings = allot(cic, cic_officer, {resident: "1000.00"})
    society_issue, society_holdings = allot(society, officer, {resident: "500.00"})
    cic_holding, society_holding = cic_holdings["rita_resident"], society_holdings["rita_resident"]
    pref = api_client_for(resident).post(
        f"/api/v1/holdings/{society_holding.pk}/interest-preference/", {"preference": "waive"}, format="json"
    )
    assert pref.status_code == 200, pref.content
    with on(dt.date(2026, 4, 1)):
        asked = api_client_for(resident).post(
            f"/api/v1/holdings/{cic_holding.pk}/redemption-requests/", {"amount": "400.00"}, format="json"
        )
        assert asked.status_code == 201, asked.content
    with on(dt.date(2026, 4, 2)):
        approved = api_client_for(cic_officer).post(
            f"/api/v1/redemption-requests/{asked.json()['id']}/approve/",
            {"reason": "Liquidity allows."},
            format="json",
        )
        assert approved.status_code == 200, approved.content
    with on(dt.date(2027, 3, 3)):
        assert run_interest(cic_officer, cic_issue, dt.date(2027, 3, 2)).status == "completed"
        assert run_interest(officer, society_issue, dt.date(2027, 3, 2)).status == "completed"
    return {"cic": cic_holding, "society": society_holding}


@pytest.fixture
def statement(api_client_for):
    def statement(user, year, kind="json"):
        return api_client_for(user).get(f"/api/v1/me/statement.{kind}?year={year}")

    return statement


# --- the annual statement -------------------------------------------------------------


def test_the_annual_statement_shows_each_line_with_its_sequence_and_adds_up_to_the_ledger(
    rita, resident, cic, society, books, statement
):
    with on(dt.date(2027, 4, 10)):
        response = statement(resident, 2026)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tax_year"] == {"start": "2026-04-06", "end": "2027-04-05"}
    assert body["holder"] == {"name": "Rita Resident", "postcode": "S1 2AB"}
    by_holding = {h["holding"]: h for h in body["holdings"]}
    cic_year, society_year = by_holding[rita["cic"].pk], by_holding[rita["society"].pk]

    assert {
        k: cic_year[k] for k in ("opening_principal", "subscriptions", "redemptions", "closing_principal")
    } == {
        "opening_principal": "1000.00",
        "subscriptions": "0.00",
        "redemptions": "400.00",
        "closing_principal": "600.00",
    }
    assert (cic_year["interest_gross"], cic_year["tax_withheld"], cic_year["interest_net"]) == (
        "29.26",
        "5.85",
        "23.41",
    )
    lines = [
        (
            line["value_date"],
            line["kind"],
            line["principal_change"],
            line["interest_gross"],
            line["tax_withheld"],
            line["interest_net"],
        )
        for line in cic_year["lines"]
    ]
    assert lines == [
        ("2026-06-30", "redemption", "-400.00", "0.00", "0.00", "0.00"),
        ("2026-06-30", "interest_payment", "0.00", "5.26", "1.05", "4.21"),
        ("2027-03-02", "interest_payment", "0.00", "24.00", "4.80", "19.20"),
    ]
    assert (
        society_year["opening_principal"],
        society_year["closing_principal"],
        society_year["interest_waived"],
    ) == ("500.00", "500.00", "20.00")
    assert [line["kind"] for line in society_year["lines"]] == ["interest_waiver"]

    # Each line is the ledger entry it names: same sequence, same hash, same postings.
    for year in (cic_year, society_year):
        for line in year["lines"]:
            entry = LedgerEntry.objects.get(issuer_id=year["issuer"], sequence=line["sequence"])
            assert line["entry"]["hash"] == entry.hash
            assert line["entry"]["postings"] == [
                [p.account.code, p.currency, p.amount_pence] for p in entry.postings.order_by("position")
            ]
            # ...and the line alone is enough to recompute the entry's hash (ledger.canonical).
            fields = line["entry"]
            canonical = entry_canonical_bytes(
                issuer_id=fields["issuer"],
                sequence=fields["sequence"],
                kind=fields["kind"],
                value_date=fields["value_date"],
                description=fields["description"],
                idempotency_key=fields["idempotency_key"],
                reverses_sequence=fields["reverses"],
                recorded_at=fields["recorded_at"],
                postings=[tuple(p) for p in fields["postings"]],
            )
            assert chain_hash(fields["prev_hash"], canonical) == fields["hash"]
    # The closing principal is the ledger's balance, and the holding's own totals agree.
    assert books(cic)[accounts.principal_of(rita["cic"].pk)] == -600_00
    cic_holding = rita["cic"]
    cic_holding.refresh_from_db()
    assert (cic_holding.tax_withheld_pence, cic_holding.interest_paid_pence) == (5_85, 23_41)
    assert books(society)[accounts.interest_waived_of(rita["society"].pk)] == -20_00

    # The certificate of interest and tax deducted: per issuer.
    assert (
        body["certificate_of_interest"]
        == [
            {
                "issuer": society.pk,
                "issuer_name": society.name,
                "registration_number": society.registration_number,
                "currency": "GBP",
                "interest_gross": "0.00",
                "tax_deducted": "0.00",
                "interest_net": "0.00",
                "interest_waived": "20.00",
            },
            {
                "issuer": cic.pk,
                "issuer_name": cic.name,
                "registration_number": cic.registration_number,
                "currency": "GBP",
                "interest_gross": "29.26",
                "tax_deducted": "5.85",
                "interest_net": "23.41",
                "interest_waived": "0.00",
            },
        ]
        if society.pk < cic.pk
        else body["certificate_of_interest"]
    )


def test_the_year_before_shows_the_subscriptions(rita, resident, statement):
    with on(dt.date(2027, 4, 10)):
        body = statement(resident, 2025).json()
    years = {h["holding"]: h for h in body["holdings"]}
    assert (
        years[rita["cic"].pk]["opening_principal"],
        years[rita["cic"].pk]["subscriptions"],
        years[rita["cic"].pk]["closing_principal"],
    ) == ("0.00", "1000.00", "1000.00")
    assert [line["kind"] for line in years[rita["cic"].pk]["lines"]] == ["allotment"]
    assert body["certificate_of_interest"] == []


def test_each_line_carries_an_inclusion_proof_against_the_latest_checkpoint(
    rita, resident, cic, statement, api_client_for
):
    checkpoint = checkpoint_sign(issuer=cic)
    with on(dt.date(2027, 4, 10)):
        body = statement(resident, 2026).json()
    facts = next(c for c in body["checkpoints"] if c["issuer"] == cic.pk)
    assert (facts["sequence"], facts["hash"], facts["tree_size"], facts["merkle_root"]) == (
        checkpoint.sequence,
        checkpoint.hash,
        checkpoint.tree_size,
        checkpoint.merkle_root,
    )
    # The statement carries what the checkpoint signs, and the signature holds under the published key.
    public_key = api_client_for(None).get("/api/v1/ledger/public-key/").json()["public_key_hex"]
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
        bytes.fromhex(facts["signature"]), facts["signed_message"].encode("ascii")
    )
    assert json.loads(facts["signed_message"])["merkle_root"] == checkpoint.merkle_root
    root = IssuerTree(cic.pk).root(checkpoint.tree_size)
    assert root.hex() == checkpoint.merkle_root  # the root the checkpoint signs
    cic_lines = next(h for h in body["holdings"] if h["holding"] == rita["cic"].pk)["lines"]
    for line in cic_lines:
        proof = line["inclusion_proof"]
        assert proof["tree_size"] == checkpoint.tree_size and proof["leaf_index"] == line["sequence"] - 1
        assert proof["merkle_root"] == checkpoint.merkle_root
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        leaf = merkle.leaf_hash(line["entry"]["hash"])
        assert merkle.verify_inclusion(leaf, proof["leaf_index"], proof["tree_size"], path, root)
    # The society's ledger has no checkpoint yet: its lines wait for one.
    society_lines = next(h for h in body["holdings"] if h["holding"] == rita["society"].pk)["lines"]
    assert [line["inclusion_proof"] for line in society_lines] == [None]


def test_the_pdf_statement_has_the_lines_and_the_certificate_of_interest(rita, resident, statement):
    with on(dt.date(2027, 4, 10)):
        json_lines = statement(resident, 2026).json()
        response = statement(resident, 2026, "pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026.pdf"'
    text = pdf_text(response.content)
    assert "Annual statement" in text and "Rita Resident" in text
    assert "6 April 2026 to 5 April 2027" in text
    assert "Certificate of interest and tax deducted" in text
    for amount in ("£29.26", "£5.85", "£23.41", "£600.00", "£20.00"):
        assert amount in text
    for holding in json_lines["holdings"]:
        for line in holding["lines"]:
            assert str(line["sequence"]) in text


def test_a_resident_sees_only_their_own_lines(rita, outsider, statement):
    with on(dt.date(2027, 4, 10)):
        body = statement(outsider, 2026).json()
        pdf = statement(outsider, 2026, "pdf")
    assert body["holdings"] == [] and body["certificate_of_interest"] == []
    assert pdf.status_code == 200 and "You held no bonds in this tax year." in pdf_text(pdf.content)


@pytest.mark.parametrize("kind", ["json", "pdf"])
@pytest.mark.parametrize(
    "year", ["", "abc", "26", "2026.0", "1999", "2030", "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96", "-2026"]
)
def test_a_missing_or_junk_tax_year_is_refused(resident, kind, year, api_client_for, assert_error):
    with on(dt.date(2027, 4, 10)):
        response = api_client_for(resident).get(f"/api/v1/me/statement.{kind}?year={year}")
    body = assert_error(response, 400, "invalid_tax_year")
    assert "year" in body["fields"]


def test_a_year_without_the_parameter_is_refused(resident, assert_error, api_client_for):
    assert_error(api_client_for(resident).get("/api/v1/me/statement.json"), 400, "invalid_tax_year")


@pytest.mark.parametrize("kind", ["json", "pdf"])
def test_the_statement_needs_someone_signed_in(kind, assert_error, api_client_for):
    assert_error(api_client_for(None).get(f"/api/v1/me/statement.{kind}?year=2025"), 401, "not_authenticated")


def test_the_statement_of_ten_holdings_is_quick(
    society, officer, resident, make_user, allot, run_interest, capsys, statement
):
    """Prints the time (issue 13 asks for under 2 s); never asserted.

    A web process loads WeasyPrint with its first PDF (about a second, once): the
    first request is made and not counted; then the best of three, wall and CPU."""
    others = [make_user(f"neighbour{n}") for n in range(3)]
    for _ in range(10):
        allot(society, officer, {resident: "1000.00", **{o: "500.00" for o in others}})
    with on(dt.date(2027, 3, 3)):
        for issue in BondIssue.objects.filter(holdings__holder=resident).distinct():
            run_interest(officer, issue, dt.date(2027, 3, 2))
    checkpoint_sign(issuer=society)
    with on(dt.date(2027, 4, 10)):
        timings = {}
        for kind in ("json", "pdf"):
            assert statement(resident, 2026, kind).status_code == 200
            runs = []
            for _ in range(3):
                start, cpu = time.perf_counter(), time.process_time()
                response = statement(resident, 2026, kind)
                runs.append((time.perf_counter() - start, time.process_time() - cpu))
                assert response.status_code == 200
            timings[kind] = min(runs)
        assert len(statement(resident, 2026).json()["holdings"]) == 10
    with capsys.disabled():
        print(
            "\nannual statement of 10 holdings (best of 3, wall / CPU): "
            + ", ".join(f"{kind.upper()} {wall:.2f} s / {cpu:.2f} s" for kind, (wall, cpu) in timings.items())
        )


# --- the certificate ---------------------------------------------------------------------


def test_the_holder_downloads_a_certificate_with_the_allotment_entry_and_its_code(
    rita, resident, cic, api_client_for
):
    holding = rita["cic"]
    response = api_client_for(resident).get(f"/api/v1/holdings/{holding.pk}/certificate.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    entry = LedgerEntry.objects.get(issuer=cic, idempotency_key=f"allotment:{holding.subscription_id}")
    text = pdf_text(response.content)
    for expected in (
        "Bond certificate",
        "Rita Resident",
        "Park Hill Energy CIC",
        "£1,000.00",  # the principal allotted, though £400 has been redeemed since
        "2 March 2026",
        "2 March 2029",  # maturity: 36 months
        f"#{entry.sequence}",
        verification_code(entry.hash),
    ):
        assert expected in text, expected
    assert verification_code("3f9a0c1d2e3f4a5b6c7d8e9f") == "3F9A-0C1D-2E3F-4A5B-6C7D"


@pytest.mark.parametrize("persona", ["cic_officer", "cic_auditor"])
def test_the_issuers_officers_and_auditors_may_download_a_certificate(
    rita, persona, request, make_user, cic, api_client_for
):
    if persona == "cic_auditor":
        user = make_user("audrey_cic_auditor", resident=False)
        RoleGrant.objects.create(issuer=cic, user=user, role="auditor")
    else:
        user = request.getfixturevalue(persona)
    assert api_client_for(user).get(f"/api/v1/holdings/{rita['cic'].pk}/certificate.pdf").status_code == 200


def test_others_may_not_download_a_certificate(rita, outsider, officer, staff, api_client_for, assert_error):
    url = f"/api/v1/holdings/{rita['cic'].pk}/certificate.pdf"
    # Ids reveal nothing: to whoever may not know the holding exists, it answers like a missing one.
    theirs = api_client_for(outsider).get(url)
    missing = api_client_for(outsider).get("/api/v1/holdings/424242/certificate.pdf")
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert_error(theirs, 404, "holding_not_found")
    # The society's officer is not the CIC's.
    assert_error(api_client_for(officer).get(url), 404, "holding_not_found")
    # Staff may know it exists, but a holder's papers are for the holder and the issuer's people.
    assert_error(api_client_for(staff).get(url), 403, "not_an_officer_or_auditor")
    assert_error(api_client_for(None).get(url), 401, "not_authenticated")
    assert_error(
        api_client_for(outsider).get("/api/v1/holdings/424242/certificate.pdf"), 404, "holding_not_found"
    )


def test_the_certificate_bytes_are_there_for_the_allotment_email(rita):
    pdf = certificate_pdf(holding_id=rita["society"].pk)
    assert pdf.startswith(b"%PDF-") and "Sheffield Citylife Society" in pdf_text(pdf)


# --- the register as at a date ----------------------------------------------------------


@pytest.fixture
def register(api_client_for):
    def register(user, issue_id, as_at=None):
        query = "" if as_at is None else f"?as_at={as_at}"
        return api_client_for(user).get(f"/api/v1/issues/{issue_id}/register.csv{query}")

    return register


def rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_the_register_as_at_a_date_follows_allotments_and_redemptions(
    rita, cic_officer, make_user, cic, register
):
    issue_id = rita["cic"].issue_id
    with on(dt.date(2027, 4, 10)):
        before = register(cic_officer, issue_id, "2026-03-01")
        at_allotment = register(cic_officer, issue_id, "2026-03-02")
        after_redemption = register(cic_officer, issue_id, "2026-06-30")
        today = register(cic_officer, issue_id)
    header = [
        "holding_id",
        "holder_name",
        "postcode",
        "allotted_on",
        "principal_outstanding",
        "currency",
        "as_at",
    ]
    assert rows(before) == [header]
    holding = str(rita["cic"].pk)
    assert rows(at_allotment)[1:] == [
        [holding, "Rita Resident", "S1 2AB", "2026-03-02", "1000.00", "GBP", "2026-03-02"]
    ]
    assert rows(after_redemption)[1][4] == "600.00"
    assert rows(today)[1][4:] == ["600.00", "GBP", "2027-04-10"]
    assert today["Content-Disposition"] == f'attachment; filename="register-{issue_id}-2027-04-10.csv"'


def test_register_cells_are_safe_in_a_spreadsheet(society, officer, make_user, allot, register):
    mallory = make_user("mallory", full_name='=HYPERLINK("http://evil.example","x")', postcode="S1 2AB")
    issue, _ = allot(society, officer, {mallory: "500.00"})
    body = rows(register(officer, issue.pk))
    assert body[1][1] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_register_is_for_the_issuers_officers_and_auditors(
    rita, auditor, resident, outsider, officer, cic_officer, register, assert_error
):
    issue_id = rita["cic"].issue_id
    assert register(cic_officer, issue_id).status_code == 200
    # The society's officer and auditor are not the CIC's; residents never see the register.
    for user in (officer, auditor, resident, outsider):
        assert_error(register(user, issue_id), 403, "not_an_officer_or_auditor")
    assert_error(register(None, issue_id), 401, "not_authenticated")
    assert_error(register(cic_officer, 424242), 404, "issue_not_found")


@pytest.mark.parametrize("as_at", ["yesterday", "2026-13-01", "2999-01-01", ""])
def test_a_bad_or_future_date_is_refused(rita, cic_officer, as_at, assert_error, register):
    body = assert_error(register(cic_officer, rita["cic"].issue_id, as_at), 400, "invalid_query")
    assert "as_at" in body["fields"]


def test_the_residents_page_links_to_the_certificates_and_the_statement(rita, resident, client):
    with on(dt.date(2027, 4, 10)):
        client.force_login(resident)
        page = client.get("/me/").content.decode()
        url = f"/api/v1/holdings/{rita['cic'].pk}/certificate.pdf"
        assert url in page and 'href="/api/v1/me/statement.pdf?year=2026"' in page
        # Signed in on the site, the links work as they are.
        assert client.get(url)["Content-Type"] == "application/pdf"
        assert client.get("/api/v1/me/statement.pdf?year=2026")["Content-Type"] == "application/pdf"


VERIFIER = Path(__file__).resolve().parents[3] / "tools" / "verify_statement.py"


@pytest.fixture
def run_resident_verifier(api_client_for):
    def run_resident_verifier(tmp_path, body) -> subprocess.CompletedProcess:
        path = tmp_path / "statement.json"
        path.write_text(json.dumps(body))
        public_key = api_client_for(None).get("/api/v1/ledger/public-key/").json()["public_key_hex"]
        return subprocess.run(
            [sys.executable, str(VERIFIER), "resident", str(path), "--public-key", public_key],
            capture_output=True,
            text=True,
            check=False,
        )

    return run_resident_verifier


def test_the_resident_checks_their_statement_offline_and_a_change_is_caught(
    rita, resident, cic, society, tmp_path, run_resident_verifier, statement
):
    checkpoint_sign(issuer=cic)
    checkpoint_sign(issuer=society)
    with on(dt.date(2027, 4, 10)):
        body = statement(resident, 2026).json()
    result = run_resident_verifier(tmp_path, body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")

    # A changed amount no longer hashes to the entry's hash.
    changed = copy.deepcopy(body)
    line = next(h for h in changed["holdings"] if h["lines"])["lines"][0]
    line["entry"]["postings"][0][2] += 100
    result = run_resident_verifier(tmp_path, changed)
    assert (result.returncode, "it was changed" in result.stdout) == (1, True)

    # A proof for another entry does not put this one in the tree.
    swapped = copy.deepcopy(body)
    lines = [ln for h in swapped["holdings"] for ln in h["lines"] if ln["inclusion_proof"]]
    if len(lines) > 1:
        lines[0]["inclusion_proof"], lines[1]["inclusion_proof"] = (
            lines[1]["inclusion_proof"],
            lines[0]["inclusion_proof"],
        )
        result = run_resident_verifier(tmp_path, swapped)
        assert result.returncode == 1

    # A forged root is not the one the service signed.
    forged = copy.deepcopy(body)
    forged["checkpoints"][0]["merkle_root"] = "0" * 64
    result = run_resident_verifier(tmp_path, forged)
    assert (result.returncode, "signature does not verify" in result.stdout) == (1, True)
