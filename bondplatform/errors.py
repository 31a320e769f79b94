"""One error shape for the whole API: `{"code", "detail", "fields"}`.

Services raise `ServiceError` subclasses with a machine-readable code; DRF's
own exceptions and Django's are translated here, so a client never sees a
different shape and bad input never becomes a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import is_valid_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback


class ServiceError(Exception):
    """A refusal by a service, carried to the client unchanged.

    `rule` names the rule that refused, for the decision log (by default the
    code); `deny_recorded` is set once that deny decision has been kept, so
    that nested services record it once (`compliance.services.refusals_kept`).
    """

    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY
    code: str = "rule_violation"
    deny_recorded: bool = False

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        rule: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.rule = rule or self.code
        self.fields = fields or {}
        # Machine-readable facts beside the sentence (e.g. the amount left).
        self.extra = extra or {}


class BadInput(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class NotPermitted(ServiceError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class InvalidState(ServiceError):
    """The object's state does not allow the operation (409)."""

    status_code = status.HTTP_409_CONFLICT
    code = "invalid_state"


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class TooManyAttempts(ServiceError):
    """Refused until later (429), e.g. a locked account; `Retry-After` says how long."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after_seconds: int, code: str | None = None):
        super().__init__(detail, code=code, extra={"retry_after": max(1, int(retry_after_seconds))})
        self.retry_after_seconds = max(1, int(retry_after_seconds))


class UploadTooLarge(RequestDataTooBig):
    """A file in an upload passed UPLOAD_MAX_FILE_SIZE (`bondplatform.uploads`): 413 `file_too_large`.

    A `SuspiciousOperation`, like Django's own RequestDataTooBig, so that where
    it is raised outside the API (the CSRF check reading a form) Django answers 400."""


class RuleViolation(ServiceError):
    """A business rule refuses the operation (422); its deny decision is kept."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

# Field-level codes that are important enough to become the top-level code.
PROMOTED_FIELD_CODES = ("invalid_amount",)


def error_body(code: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "detail": detail, "fields": fields or {}}


def _flatten(detail: Any) -> Any:
    """ErrorDetail trees into plain strings, keeping their structure."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _codes(detail: Any) -> set[str]:
    if isinstance(detail, dict):
        return set().union(*(_codes(v) for v in detail.values())) if detail else set()
    if isinstance(detail, list):
        return set().union(*(_codes(v) for v in detail)) if detail else set()
    return {getattr(detail, "code", "invalid")}


def _validation_response(detail: Any) -> Response:
    if isinstance(detail, list):
        detail = {"non_field_errors": detail}
    codes = _codes(detail)
    code = next((c for c in PROMOTED_FIELD_CODES if c in codes), "invalid")
    fields = _flatten(detail)
    first = _first_message(fields) or "The request is not valid."
    return Response(error_body(code, first, fields), status=status.HTTP_400_BAD_REQUEST)


def _first_message(fields: Any) -> str | None:
    if isinstance(fields, dict):
        for name, value in fields.items():
            message = _first_message(value)
            if message:
                return message if name == "non_field_errors" else f"{name}: {message}"
    elif isinstance(fields, list):
        for value in fields:
            message = _first_message(value)
            if message:
                return message
    elif fields:
        return str(fields)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    set_rollback()
    if isinstance(exc, ServiceError):
        response = Response(
            {**exc.extra, **error_body(exc.code, exc.detail, exc.fields)}, status=exc.status_code
        )
        if isinstance(exc, TooManyAttempts):
            response["Retry-After"] = str(exc.retry_after_seconds)
        return response
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _validation_response(detail)
    if isinstance(exc, UploadTooLarge):
        return Response(
            error_body("file_too_large", str(exc)), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", "The request body is too large."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(
            error_body("bad_request", "The request could not be understood."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code = _DRF_CODES.get(type(exc))
        if code is None:
            code = next((c for k, c in _DRF_CODES.items() if isinstance(exc, k)), "error")
        if isinstance(exc, exceptions.ParseError):
            code = "malformed_request"
        response = Response(error_body(code, str(exc.detail)), status=exc.status_code)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = f"{int(wait)}"
        return response
    return None


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler400(request, exception=None):
    """Bad requests that never reach DRF (an oversized body read by a plain view, a bad Host header)."""
    if not _is_api(request):
        if isinstance(exception, UploadTooLarge):
            return render(request, "upload_too_large.html", {"detail": str(exception)}, status=413)
        return defaults.bad_request(request, exception)
    if isinstance(exception, UploadTooLarge):
        return JsonResponse(error_body("file_too_large", str(exception)), status=413)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body("request_too_large", "The request body is too large."), status=400)
    return JsonResponse(error_body("bad_request", "The request could not be understood."), status=400)


def handler403(request, exception=None):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(error_body("permission_denied", "You may not do this."), status=403)


def handler404(request, exception=None):
    """JSON under /api/, Django's page elsewhere."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def handler500(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """The last URL under /api/: an unknown API path is a JSON 404 even with DEBUG on.

    Without it Django would answer with its HTML debug page, and a POST to a
    path missing its trailing slash would crash APPEND_SLASH's redirect (500).
    """
    detail = "There is no such API endpoint."
    if not request.path.endswith("/") and is_valid_path(request.path + "/"):
        detail = f"There is no such API endpoint: did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse(error_body("not_found", detail), status=404)
