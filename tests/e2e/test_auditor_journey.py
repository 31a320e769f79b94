"""An auditor reads an issuer's books in Chromium: the ledger browser with its filters and
hashes, the decision log, and a statement downloaded to verify offline. Each page is
screenshotted at two widths and checked with axe-core."""

import pytest

from ledger.models import LedgerEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_auditor_browses_the_ledger_and_downloads_a_statement(
    page, live_server, auditor, allotted_holding, sign_in_as, look
):
    holding = allotted_holding()
    issuer = holding.issue.issuer
    allotment = LedgerEntry.objects.get(issuer=issuer, kind="allotment")

    sign_in_as(page, auditor)
    page.click("nav >> text=Officer")
    page.click("text=Books and decision log")
    assert page.inner_text("#verification-result") == "valid"
    look(page, "auditor-books")

    page.click("#ledger-link")
    page.wait_for_selector("#ledger-entries")
    look(page, "auditor-ledger")
    page.select_option("#id_kind", "allotment")
    page.click("button:has-text('Show the entries')")
    page.wait_for_selector("text=1 entry matches these filters.")
    row = page.locator(f"#entry-{allotment.sequence}")
    assert "Bonds allotted" in row.inner_text()
    assert "Dr £1,000.00" in row.inner_text() and "Cr £1,000.00" in row.inner_text()
    row.locator("summary").click()  # the full hash, to copy
    assert allotment.hash in row.locator("code.hash").first.inner_text()

    # A period that ends before it starts is explained beside its field.
    page.fill("#id_date_from", "2026-05-02")
    page.fill("#id_date_to", "2026-05-01")
    page.click("button:has-text('Show the entries')")
    page.wait_for_selector("#id_date_to-error")
    assert page.inner_text("#id_date_to-error") == "The period ends before it starts."
    look(page, "auditor-ledger-error")

    page.click("text=The books of")
    page.click("#decisions-link")
    page.wait_for_selector("#decisions")
    assert "rate_cap" in page.inner_text("#decisions")
    page.select_option("#id_outcome", "allow")
    page.click("button:has-text('Show the decisions')")
    page.wait_for_selector("#decision-count:has-text('match')")
    look(page, "auditor-decisions")

    page.click("text=The books of")
    with page.expect_download() as download_info:
        page.click("#statement-csv")
    statement = download_info.value
    text = open(statement.path(), encoding="utf-8").read()
    assert text.startswith("#") and allotment.hash in text
    assert statement.suggested_filename.endswith(".csv")
