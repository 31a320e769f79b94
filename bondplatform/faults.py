"""Transient database faults answer 503 `service_unavailable` with `Retry-After`, never a 500.

A connection cut under a request (the database restarted, a proxy dropped it,
an administrator ended the backend), a database that does not answer, or a
serialization failure or deadlock that outlived its retries: none of these is
the client's fault, and the same request with the same `Idempotency-Key` is
safe to send again. So they answer 503, in the API's one error shape under
/api/ and as a short page elsewhere, with `Retry-After`.

Django wraps every such driver error as `django.db.OperationalError` or
`django.db.InterfaceError`. A connection that failed is dropped at the end of
its request (`close_if_unusable_or_obsolete`), and with `CONN_HEALTH_CHECKS`
(settings) a pooled connection that died between requests is checked and
replaced before its first use, so the next request succeeds.

`TransientDatabaseErrorMiddleware.process_exception` answers for errors a view
raised (DRF's handler leaves these to it); `handler500`, the project's 500
handler, for errors raised outside a view (a middleware, the session saved on
the way out).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from bondplatform import errors
from bondplatform.errors import error_body

logger = logging.getLogger(__name__)

# How long a client should wait before sending the same request again.
RETRY_AFTER_SECONDS = 5
CODE = "service_unavailable"
DETAIL = "The service is briefly unavailable: send the same request again in a few seconds."

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def is_transient(exc: BaseException | None) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON in the one error shape under /api/, a page elsewhere."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(CODE, DETAIL), status=503)
    else:
        response = HttpResponse(
            render_to_string("503.html", {"detail": DETAIL, "code": CODE}, request=None), status=503
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def transient_response(request: HttpRequest) -> HttpResponse | None:
    """From a 500 handler: the 503 answer when the error being handled is a transient database fault."""
    exc = sys.exc_info()[1]
    if not is_transient(exc):
        return None
    _log(request, exc)
    return unavailable_response(request)


def handler500(request: HttpRequest) -> HttpResponse:
    """The project's 500 handler: a transient database fault is a 503, anything else a 500."""
    return transient_response(request) or errors.handler500(request)


def _log(request: HttpRequest, exc: BaseException | None) -> None:
    # Not the client's fault and not a bug, but someone should know: one line, no traceback.
    logger.warning(
        "database unavailable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    )


class TransientDatabaseErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_transient(exception):
            return None
        _log(request, exception)
        return unavailable_response(request)
