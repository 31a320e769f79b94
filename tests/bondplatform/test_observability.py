"""Operations: one structured log line per request and per task, calm refusals, /metrics kept private."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

import pytest
from django.test import Client
from rest_framework.test import APIClient

from bondplatform.background import after_commit
from bondplatform.logs import JsonFormatter, RoutineWorkerMessages
from bondplatform.requestlog import task_executed
from investments import selectors
from ledger.services import Posting, entry_post

pytestmark = pytest.mark.django_db


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bondplatform.requests"]


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


class TestRequestLog:
    def test_one_json_line_per_request_with_ids_and_the_route_not_the_path(
        self, caplog, resident, society, api_client_for
    ):
        caplog.set_level(logging.INFO)
        response = api_client_for(resident).get(f"/api/v1/issuers/{society.pk}/", HTTP_X_REQUEST_ID="abc-123")
        assert response.status_code == 200
        assert response["X-Request-ID"] == "abc-123"
        (record,) = request_lines(caplog)
        line = as_json(record)
        assert line["level"] == "INFO"
        assert line["event"] == "request"
        assert line["request_id"] == "abc-123"
        assert line["user_id"] == resident.pk
        assert line["method"] == "GET"
        assert line["path"] == "/api/v1/issuers/<int:issuer_id>/"
        assert line["status"] == 200
        assert line["outcome"] == "ok"
        assert isinstance(line["duration_ms"], float)
        # Ids only: no username, name or postcode of the person.
        text = json.dumps(line)
        assert resident.username not in text and "S1 2AB" not in text

    def test_a_request_id_is_made_when_none_or_a_strange_one_is_sent(self, caplog):
        caplog.set_level(logging.INFO)
        first = APIClient().get("/api/v1/issuers/")
        odd = APIClient().get("/api/v1/issuers/", HTTP_X_REQUEST_ID="x" * 500)
        assert len(first["X-Request-ID"]) == 32
        assert odd["X-Request-ID"] != "x" * 500 and len(odd["X-Request-ID"]) == 32
        assert [as_json(r)["request_id"] for r in request_lines(caplog)] == [
            first["X-Request-ID"],
            odd["X-Request-ID"],
        ]

    def test_other_lines_written_during_the_request_carry_its_id(self, caplog, monkeypatch):
        caplog.set_level(logging.INFO)
        real = selectors.issue_list_for

        def noisy(*args, **kwargs):
            logging.getLogger("investments").info("reading issues")
            return real(*args, **kwargs)

        monkeypatch.setattr(selectors, "issue_list_for", noisy)
        response = APIClient().get("/api/v1/issues/", HTTP_X_REQUEST_ID="req-7")
        (inner,) = [r for r in caplog.records if r.getMessage() == "reading issues"]
        assert response["X-Request-ID"] == "req-7"
        assert as_json(inner)["request_id"] == "req-7"

    def test_a_refusal_is_info_with_its_code_and_no_warning(self, caplog, resident, api_client_for):
        caplog.set_level(logging.DEBUG)
        response = api_client_for(resident).post("/api/v1/issues/999/subscriptions/", {}, format="json")
        assert response.status_code == 400
        (record,) = request_lines(caplog)
        assert record.levelno == logging.INFO
        assert as_json(record)["outcome"] == "invalid"
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [
            r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
        ]

    def test_an_unknown_path_is_one_label_not_the_path(self, caplog):
        caplog.set_level(logging.INFO)
        APIClient().get("/api/v1/no/such/thing/12345/")
        line = as_json(request_lines(caplog)[0])
        assert line["status"] == 404 and line["outcome"] == "not_found"
        assert line["path"] in {"<unmatched>", "/^api/"}

    def test_text_lines_for_people_in_development(self, caplog, resident, api_client_for):
        caplog.set_level(logging.INFO)
        api_client_for(resident).get("/api/v1/me/")
        (record,) = request_lines(caplog)
        text = record.getMessage()
        assert text.startswith("GET /api/v1/me/ 200 ok ")
        assert f"user={resident.pk}" in text


class TestTaskLog:
    TASK = {
        "id": "b3c1",
        "name": "seven-lima-echo",
        "func": "investments.tasks.close_due_issues",
        "started": dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC),
        "stopped": dt.datetime(2026, 1, 1, 12, 0, 1, 500000, tzinfo=dt.UTC),
        "success": True,
    }

    def test_one_line_per_task(self, caplog, settings):
        settings.DEBUG = False
        caplog.set_level(logging.DEBUG)
        task_executed(sender="django_q", task=self.TASK)
        (record,) = [r for r in caplog.records if r.name == "bondplatform.tasks"]
        line = as_json(record)
        assert record.levelno == logging.INFO
        assert line["event"] == "task"
        assert (line["func"], line["outcome"], line["duration_ms"]) == (
            "investments.tasks.close_due_issues",
            "ok",
            1500.0,
        )
        assert line["task_id"] == "b3c1"

    def test_a_failed_task_is_an_error(self, caplog):
        caplog.set_level(logging.DEBUG)
        task_executed(sender="django_q", task={**self.TASK, "success": False})
        (record,) = [r for r in caplog.records if r.name == "bondplatform.tasks"]
        assert record.levelno == logging.ERROR
        assert as_json(record)["outcome"] == "failed"

    def test_routine_scheduled_work_is_debug_in_development(self, caplog, settings):
        settings.DEBUG = True
        caplog.set_level(logging.DEBUG)
        task_executed(sender="django_q", task={**self.TASK, "group": "issues: close those past closes_at"})
        (record,) = [r for r in caplog.records if r.name == "bondplatform.tasks"]
        assert record.levelno == logging.DEBUG

    def test_django_q_routine_chatter_is_demoted(self):
        routine = RoutineWorkerMessages()

        def record(message: str, level=logging.INFO) -> logging.LogRecord:
            return logging.LogRecord("django-q", level, __file__, 1, message, None, None)

        for message in (
            "Process-1 created task x-y-z from schedule [issues: close those past closes_at]",
            "Processed 'investments.tasks.close_due_issues' (x-y-z)",
            "Process-1:1 processing x-y-z 'investments.tasks.close_due_issues'",
            "Enqueued [default] 17",
        ):
            each = record(message)
            assert routine.filter(each) is False, message  # dropped at the default INFO
            assert each.levelno == logging.DEBUG
        started = record("Q Cluster bondplatform starting.")
        assert routine.filter(started) is True and started.levelno == logging.INFO
        failed = record("Failed 'x'", logging.ERROR)
        assert routine.filter(failed) is True and failed.levelno == logging.ERROR


def test_the_json_formatter_keeps_exceptions_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


class TestMetrics:
    def test_not_public(self, resident, settings):
        settings.METRICS_TOKEN = "s3cret-token"
        assert Client().get("/metrics").status_code == 404
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        signed_in = Client()
        signed_in.force_login(resident)
        assert signed_in.get("/metrics").status_code == 403

    def test_without_a_token_configured_no_bearer_gets_in(self, settings):
        settings.METRICS_TOKEN = ""
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404

    def test_staff_may_look(self, staff):
        client = Client()
        client.force_login(staff)
        assert client.get("/metrics").status_code == 200

    def test_a_scraper_with_the_token_reads_rates_latencies_queues_and_postings(self, settings, society):
        settings.METRICS_TOKEN = "s3cret-token"
        settings.BACKGROUND_INLINE = False
        APIClient().get("/api/v1/issuers/")
        after_commit("bondplatform.background.work_dispatch_stranded")  # undone until a worker runs it
        for n in (1, 2, 3):
            entry_post(
                issuer=society,
                kind="adjustment",
                value_date=dt.date(2025, 4, n),
                description=f"Entry {n}",
                idempotency_key=f"metrics:{n}",
                postings=[Posting("cash_at_bank", 100), Posting("community_fund", -100)],
            )
        response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        text = response.content.decode()
        assert 'http_requests_total{method="GET",route="/api/v1/issuers/",status="200"}' in text
        assert 'http_request_duration_seconds_bucket{le="0.01",method="GET",route="/api/v1/issuers/"}' in text
        assert "queued_work_undone 1.0" in text
        assert "task_queue_depth " in text
        assert "ledger_entries_total 3.0" in text
