"""Transient database faults: 503 `service_unavailable` with Retry-After, then the next request works.

The PostgreSQL tests call the WSGI application itself (not Django's test
client, which unhooks the per-request connection housekeeping), so that one
kept connection serves request after request, as in a gunicorn worker, and
cut that connection from another one with `pg_terminate_backend`.
"""

from __future__ import annotations

import io
import json
import sys
from wsgiref.util import setup_testing_defaults

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import InterfaceError, OperationalError, connection
from rest_framework.test import APIClient

from bondplatform import faults
from investments import selectors


def wsgi_get(path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET through the WSGI application, with request_started/finished as a server sends them."""
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "testserver"
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(headers)

    result = WSGIHandler()(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()  # request_finished: a connection that failed is dropped here
    return captured["status"], captured["headers"], body


def terminate_backend_of(conn) -> None:
    """End `conn`'s server process from a second connection, as an administrator or a failover would."""
    pid = conn.connection.info.backend_pid
    params = conn.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        # Waits (up to 5 s) until the backend has gone, so the next statement meets a dead connection.
        ended = admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()
    assert ended == (True,)


def cut_before(monkeypatch, name: str):
    """Cut the request's connection just before `selectors.<name>` reads, once the request has used
    it (so the health check at its first use has passed); returns a function that undoes it."""
    real = getattr(selectors, name)

    def cut_then_read(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        terminate_backend_of(connection)
        return list(real(*args, **kwargs))

    monkeypatch.setattr(selectors, name, cut_then_read)
    return lambda: monkeypatch.setattr(selectors, name, real)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_under_an_api_request_is_503_then_the_next_request_succeeds(monkeypatch, society):
    status, _, _ = wsgi_get("/api/v1/issues/")
    assert status == 200
    kept = connection.connection  # the worker's kept connection

    restore = cut_before(monkeypatch, "issue_list_for")
    status, headers, body = wsgi_get("/api/v1/issues/")
    assert status == 503
    assert headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert json.loads(body)["code"] == "service_unavailable"
    assert set(json.loads(body)) >= {"code", "detail", "fields"}

    restore()
    status, _, body = wsgi_get("/api/v1/issues/")
    assert status == 200, body[:300]
    assert connection.connection is not kept


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_under_a_page_is_a_503_page(society, monkeypatch):
    cut_before(monkeypatch, "issue_list")
    status, headers, body = wsgi_get("/")
    assert status == 503
    assert headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert headers["Content-Type"].startswith("text/html")
    assert b"service_unavailable" in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_that_died_between_requests_is_replaced_before_use(society):
    """CONN_HEALTH_CHECKS: a database restart between two requests costs no request a 500 or 503."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert wsgi_get("/api/v1/issues/")[0] == 200
    terminate_backend_of(connection)
    status, _, body = wsgi_get("/api/v1/issues/")
    assert status == 200, body[:300]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_transient_errors_anywhere_in_the_api_are_503_in_the_error_shape(error, monkeypatch, resident):
    def fail(*args, **kwargs):
        raise error("could not serialize access due to concurrent update")

    monkeypatch.setattr(selectors, "issue_list_for", fail)
    response = APIClient().get("/api/v1/issues/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    body = response.json()  # the one error shape; only the status is 5xx
    assert set(body) == {"code", "detail", "fields"} and body["detail"]
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.django_db
def test_a_transient_error_outside_a_view_is_503_from_the_500_handler(rf):
    request = rf.get("/api/v1/issues/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        assert sys.exc_info()[0] is OperationalError
        response = faults.handler500(request)
    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "service_unavailable"


@pytest.mark.django_db
def test_any_other_error_stays_a_500(rf):
    request = rf.get("/api/v1/issues/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = faults.handler500(request)
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"
