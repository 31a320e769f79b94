"""PDF statements of any size: made in the background in parts, joined, downloaded.

The story: the society's books are longer than a PDF made at once may be
(the cap is lowered for the test, and so is the size of a part, so that
the statement is laid out in several parts). The auditor asks for it at
once and is pointed to the jobs API; asks there, watches the progress, and
downloads one PDF whose pages are numbered on from part to part.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from ledger import statement_jobs, statement_pdf, statements
from ledger.models import StatementJob, StatementJobPart, StatementJobSlice

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/ledger/statement-jobs/"


@pytest.fixture
def small_parts(monkeypatch):
    """A cap of 20 postings at once, parts of 10 postings (5 entries)."""
    monkeypatch.setattr(statements, "PDF_MAX_POSTINGS", 20)
    monkeypatch.setattr(statement_jobs, "PART_POSTINGS", 10)


@pytest.fixture
def ask(api_client_for):
    def ask(user, body, capture):
        with capture(execute=True):
            return api_client_for(user).post(JOBS, body, format="json")

    return ask


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_statement_above_the_cap_is_pointed_to_the_jobs_api(
    long_ledger, auditor, small_parts, api_client_for, assert_error
):
    response = api_client_for(auditor).get(f"/api/v1/ledger/statement.pdf?issuer={long_ledger.pk}")
    body = assert_error(response, 400, "statement_too_large")
    assert body["statement_jobs"] == JOBS and "statement-jobs" in body["detail"]
    assert (body["postings"], body["max_postings"]) == (80, 20)


def test_the_job_lays_out_parts_and_joins_them_into_one_pdf(
    long_ledger, auditor, small_parts, django_capture_on_commit_callbacks, ask, api_client_for
):
    response = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"  # as it was when the request answered

    job = api_client_for(auditor).get(f"{JOBS}{response.json()['id']}/").json()
    assert job["status"] == "completed", job
    assert job["progress"] == {
        "percent": 100,
        "postings_done": 80,
        "postings_total": 80,
        "pages_done": job["progress"]["pages_done"],
        "parts_done": 8,
    }
    assert (job["from_sequence"], job["to_sequence"]) == (1, 40)
    assert job["download_url"].endswith(f"/api/v1/ledger/statement-jobs/{job['id']}/statement.pdf")

    download = api_client_for(auditor).get(job["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)
    assert len(pdf) == job["file_bytes"] == int(download["Content-Length"])
    texts = page_texts(pdf)
    assert len(texts) == job["progress"]["pages_done"] >= 8
    assert "Ledger statement: Sheffield Citylife Society" in texts[0]
    # Pages are numbered on from part to part, and the last part carries the totals and the signature.
    assert [t.rstrip().rsplit("page ", 1)[-1] for t in texts] == [str(n) for n in range(1, len(texts) + 1)]
    whole = "\n".join(texts)
    for number in (1, 17, 40):
        assert f"Subscription {number} received" in whole
    assert "Totals per account over the period" in texts[-1] and "Verification" in texts[-1]
    assert "Rendered to PDF" not in whole  # the template's comments stay out of the document
    # Once joined, the parts are gone; the file is kept in slices.
    assert not StatementJobPart.objects.exists()
    assert StatementJobSlice.objects.filter(job_id=job["id"]).count() == 1


def test_progress_shows_while_the_job_runs_and_a_run_resumes_where_the_last_stopped(
    long_ledger,
    officer,
    small_parts,
    monkeypatch,
    django_capture_on_commit_callbacks,
    api_client_for,
    assert_error,
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job_id = api_client_for(officer).post(JOBS, {"issuer": long_ledger.pk}, format="json").json()["id"]
    assert len(queued) == 1
    # A run that may work for no time lays out one part, then queues the rest and stops.
    monkeypatch.setattr(statement_jobs, "RUN_SECONDS", 0)
    with django_capture_on_commit_callbacks(execute=False) as next_run:
        statement_jobs.statement_job_run(job_id=job_id, run_seconds=0)
    assert len(next_run) == 1
    job = api_client_for(officer).get(f"{JOBS}{job_id}/").json()
    assert job["status"] == "running" and job["download_url"] is None
    assert job["progress"]["parts_done"] == 1 and job["progress"]["percent"] == 12
    assert_error(api_client_for(officer).get(f"{JOBS}{job_id}/statement.pdf"), 409, "statement_not_ready")

    # The queued continuation (and the ones it queues) finish the job; nothing is laid out twice.
    with django_capture_on_commit_callbacks(execute=True):
        next_run[0]()
    job = StatementJob.objects.get(pk=job_id)
    assert (job.status, job.parts_done, job.postings_done) == ("completed", 8, 80)


def test_a_statement_within_one_part_is_one_pdf_with_page_n_of_m(
    long_ledger, auditor, django_capture_on_commit_callbacks, ask, api_client_for
):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    job_id = ask(
        auditor, {"issuer": long_ledger.pk, "from": today, "to": today}, django_capture_on_commit_callbacks
    ).json()["id"]
    pdf = b"".join(api_client_for(auditor).get(f"{JOBS}{job_id}/statement.pdf").streaming_content)
    texts = page_texts(pdf)
    assert texts[-1].rstrip().endswith(f"page {len(texts)} of {len(texts)}")


def test_an_empty_period_makes_a_pdf_too(
    long_ledger, auditor, django_capture_on_commit_callbacks, ask, api_client_for
):
    job_id = ask(
        auditor,
        {"issuer": long_ledger.pk, "from": "2020-01-01", "to": "2020-01-31"},
        django_capture_on_commit_callbacks,
    ).json()["id"]
    job = api_client_for(auditor).get(f"{JOBS}{job_id}/").json()
    assert job["status"] == "completed" and job["progress"]["percent"] == 100
    pdf = b"".join(api_client_for(auditor).get(job["download_url"]).streaming_content)
    assert "No entries were recorded in this period." in page_texts(pdf)[0]


def test_a_chain_that_fails_verification_fails_the_job(
    long_ledger, auditor, django_capture_on_commit_callbacks, tamper, ask, api_client_for, assert_error
):
    tamper("UPDATE investments_ledgerentry SET description = 'x' WHERE sequence = 2")
    job_id = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks).json()["id"]
    job = api_client_for(auditor).get(f"{JOBS}{job_id}/").json()
    assert (job["status"], job["failure_code"]) == ("failed", "ledger_invalid")
    assert_error(api_client_for(auditor).get(f"{JOBS}{job_id}/statement.pdf"), 409, "statement_not_ready")


@pytest.mark.parametrize("persona", ["officer", "auditor", "staff"])
def test_the_readers_of_the_books_may_ask_watch_and_download(
    long_ledger, persona, request, django_capture_on_commit_callbacks, ask, api_client_for
):
    user = request.getfixturevalue(persona)
    response = ask(user, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert api_client_for(user).get(f"{JOBS}{job_id}/").status_code == 200
    assert api_client_for(user).get(f"{JOBS}{job_id}/statement.pdf").status_code == 200


@pytest.mark.parametrize("persona", ["resident", "outsider"])
def test_others_may_not_ask_watch_or_download(
    long_ledger,
    auditor,
    persona,
    request,
    django_capture_on_commit_callbacks,
    ask,
    assert_error,
    api_client_for,
):
    job_id = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks).json()["id"]
    user = request.getfixturevalue(persona)
    assert_error(
        api_client_for(user).post(JOBS, {"issuer": long_ledger.pk}, format="json"),
        403,
        "not_an_officer_or_auditor",
    )
    # Ids reveal nothing: another issuer's statement job is not found.
    assert_error(api_client_for(user).get(f"{JOBS}{job_id}/"), 404, "statement_job_not_found")
    assert_error(api_client_for(user).get(f"{JOBS}{job_id}/statement.pdf"), 404, "statement_job_not_found")


def test_nobody_signed_in_is_asked_to_sign_in(
    long_ledger, auditor, django_capture_on_commit_callbacks, ask, assert_error, api_client_for
):
    job_id = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks).json()["id"]
    assert_error(
        api_client_for(None).post(JOBS, {"issuer": long_ledger.pk}, format="json"), 401, "not_authenticated"
    )
    assert_error(api_client_for(None).get(f"{JOBS}{job_id}/"), 401, "not_authenticated")
    assert_error(api_client_for(None).get(f"{JOBS}{job_id}/statement.pdf"), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 400, "invalid", "issuer"),
        ({"issuer": "abc"}, 400, "invalid", "issuer"),
        ({"issuer": "{issuer}", "from": "April"}, 400, "invalid", "from"),
        ({"issuer": "{issuer}", "from": "2025-05-01", "to": "2025-04-01"}, 400, "invalid", "to"),
        ({"issuer": "{issuer}", "from": "2999-01-01"}, 400, "invalid", "to"),  # `to` is today
        ({"issuer": 999999}, 404, "issuer_not_found", None),
    ],
)
def test_bad_input_is_refused(long_ledger, auditor, body, status, code, field, api_client_for, assert_error):
    body = {k: (long_ledger.pk if v == "{issuer}" else v) for k, v in body.items()}
    response = api_client_for(auditor).post(JOBS, body, format="json")
    refusal = assert_error(response, status, code)
    if field:
        assert field in refusal["fields"]


def test_an_unknown_job_is_not_found(auditor, assert_error, api_client_for):
    assert_error(api_client_for(auditor).get(f"{JOBS}424242/"), 404, "statement_job_not_found")
    assert_error(api_client_for(auditor).get(f"{JOBS}424242/statement.pdf"), 404, "statement_job_not_found")


def test_one_person_has_at_most_three_unfinished_jobs(
    long_ledger, auditor, django_capture_on_commit_callbacks, api_client_for, assert_error
):
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(3):
            assert (
                api_client_for(auditor).post(JOBS, {"issuer": long_ledger.pk}, format="json").status_code
                == 202
            )
        response = api_client_for(auditor).post(JOBS, {"issuer": long_ledger.pk}, format="json")
    assert_error(response, 429, "too_many_statement_jobs")


def test_finished_jobs_are_deleted_after_a_week(
    long_ledger, auditor, django_capture_on_commit_callbacks, ask
):
    job_id = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks).json()["id"]
    finished = StatementJob.objects.get(pk=job_id).finished_at
    assert statement_jobs.statement_jobs_clean(now=finished + dt.timedelta(days=6)) == 0
    assert statement_jobs.statement_jobs_clean(now=finished + dt.timedelta(days=8)) == 1
    assert not StatementJob.objects.filter(pk=job_id).exists()
    assert not StatementJobSlice.objects.exists()


def test_a_statement_within_the_cap_is_laid_out_in_parts_and_answered_at_once(
    long_ledger, officer, monkeypatch, api_client_for
):
    monkeypatch.setattr(statements, "PDF_MAX_POSTINGS", 100)
    monkeypatch.setattr(statement_pdf, "PART_POSTINGS", 30)
    response = api_client_for(officer).get(f"/api/v1/ledger/statement.pdf?issuer={long_ledger.pk}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    texts = page_texts(response.content)
    assert [t.rstrip().rsplit("page ", 1)[-1] for t in texts] == [str(n) for n in range(1, len(texts) + 1)]
    whole = "\n".join(texts)
    assert all(f"Subscription {number} received" in whole for number in range(1, 41))
    assert "Verification" in texts[-1]


def test_the_joined_pdf_is_one_document_with_one_catalog_and_page_tree(
    long_ledger, auditor, small_parts, django_capture_on_commit_callbacks, ask, api_client_for
):
    job_id = ask(auditor, {"issuer": long_ledger.pk}, django_capture_on_commit_callbacks).json()["id"]
    pdf = b"".join(api_client_for(auditor).get(f"{JOBS}{job_id}/statement.pdf").streaming_content)
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert reader.metadata.title.startswith("Ledger statement: Sheffield Citylife Society")
    assert len(reader.pages) == StatementJob.objects.get(pk=job_id).pages_done
    # Each part's own catalog and page tree were left behind: every page hangs from the one tree.
    tree = reader.trailer["/Root"]["/Pages"]
    assert all(page["/Parent"].get_object() == tree.get_object() for page in reader.pages)
    assert pdf.count(b"/Type /Catalog") == 1


# --- the auditors' page ------------------------------------------------------------------


def test_the_auditors_page_asks_for_a_statement_and_shows_its_progress_and_download(
    long_ledger, auditor, client, small_parts, django_capture_on_commit_callbacks
):
    client.force_login(auditor)
    page_url = f"/auditor/issuers/{long_ledger.pk}/statements/"
    assert f'href="{page_url}"' in client.get(f"/auditor/issuers/{long_ledger.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(page_url, {"date_from": "", "date_to": ""})
    assert response.status_code == 302 and response["Location"] == page_url
    page = client.get(page_url).content.decode()
    assert "Queued" in page and 'http-equiv="refresh"' in page  # reloads itself while the PDF is made
    for run in queued:
        with django_capture_on_commit_callbacks(execute=True):
            run()
    page = client.get(page_url).content.decode()
    job = StatementJob.objects.get()
    assert "Completed" in page and "100 %" in page and "80 of 80 postings" in page
    assert f'href="/api/v1/ledger/statement-jobs/{job.pk}/statement.pdf"' in page
    assert 'http-equiv="refresh"' not in page
    assert (
        client.get(f"/api/v1/ledger/statement-jobs/{job.pk}/statement.pdf")["Content-Type"]
        == "application/pdf"
    )


def test_the_auditors_page_refuses_others_and_bad_periods(long_ledger, auditor, resident, client):
    page_url = f"/auditor/issuers/{long_ledger.pk}/statements/"
    client.force_login(resident)
    assert client.get(page_url).status_code == 403
    assert client.post(page_url, {}).status_code == 403
    assert not StatementJob.objects.exists()
    client.force_login(auditor)
    response = client.post(page_url, {"date_from": "2025-05-01", "date_to": "2025-04-01"}, follow=True)
    assert "The period ends before it starts." in response.content.decode()
    assert not StatementJob.objects.exists()
    assert client.get("/auditor/issuers/424242/statements/").status_code == 404
