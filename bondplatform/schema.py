"""The OpenAPI schema says what the service does: every error answer, money, ids, who may call.

drf-spectacular describes a view's success well and its failures not at all.
`AutoSchema` (settings' DEFAULT_SCHEMA_CLASS) adds to every operation:

- its error answers, each with the one error body `{code, detail, fields}`
  whose `code` is an enum of the codes the operation can answer with that
  status. Codes every operation of a kind shares are added here (a body can
  be malformed, a query invalid, a token expired, the database briefly away);
  each view adds its own with `@refusals({409: [...], 422: [...]})`, one line
  above the method (or the class, for generic views). The fuzz test
  (`tests/test_schemathesis.py`) checks every answer against this.
- exact security: an operation that answers 401 to nobody signed in lists
  only the token and the session cookie; one that anyone may call also lists
  the empty requirement `{}`.
- `minimum: 1` on ids in the path (and `maximum`, what a database id holds),
  `minLength: 1` on text in the query (a blank parameter is refused).

`MoneyFieldExtension` gives money its patterns: out, `^-?\\d+\\.\\d{2}$`
("250.00", "-1.50"); in, what `bondplatform.money.parse_amount` accepts, and
not zero where zero is refused, so a client (or the fuzzer) can make valid
amounts from the schema alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework.permissions import IsAuthenticated

from bondplatform.query import MAX_ID

T = TypeVar("T")

ATTRIBUTE = "_documented_refusals"

# Money out: a sign, pounds, exactly two decimals.
MONEY_OUT_PATTERN = r"^-?\d+\.\d{2}$"
# Money in (bondplatform.money.parse_amount): pounds, at most 14 digits, at most two decimals.
MONEY_IN_PATTERN = r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$"
# The same, but not zero ("0", "0.0", "0.00").
MONEY_IN_NONZERO_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,13}(\.[0-9]{1,2})?)$"

MONEY_OUT = {"type": "string", "pattern": MONEY_OUT_PATTERN, "example": "250.00"}
# An id in a query: a database id, from 1.
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# A rate in percent a year, as a string, 0 to 100 with at most two decimals ("4.50").
RATE_PATTERN = r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$"

# The sentence each error status stands for in API.md.
STATUS_MEANING = {
    400: "Bad input: the body or the query is not valid.",
    401: "Nobody signed in, or the token is invalid or expired.",
    403: "Signed in, but not allowed to do this.",
    404: "No such object (or not one this caller may see).",
    405: "The method is not allowed here.",
    406: "The Accept header asks for a format this operation does not give.",
    409: "The object's state does not allow this.",
    413: "The request body is too large.",
    415: "The body's media type is not accepted.",
    422: "A business rule refuses this.",
    429: "Too many attempts: wait for Retry-After seconds.",
    503: "Briefly unavailable (a database fault): send the same request again after Retry-After seconds.",
}

BODY_CODES = {400: ["invalid", "malformed_request", "request_too_large", "bad_request"]}
QUERY_CODES = {400: ["invalid_query"]}
# A request header the view reads (an `Idempotency-Key` too long): the body's code.
HEADER_CODES = {400: ["invalid"]}
MEDIA_CODES = {415: ["unsupported_media_type"]}
SIGNED_IN_CODES = {401: ["not_authenticated", "authentication_failed"]}
TOKEN_CODES = {401: ["authentication_failed"]}
PATH_CODES = {404: ["not_found"]}
ALWAYS = {503: ["service_unavailable"]}


def refusals(codes: Mapping[int, Iterable[str]], *, signed_in: bool | None = None) -> Callable[[T], T]:
    """Declare the error codes an API method (or generic view class) answers, by status.

    `signed_in=True`: it answers 401 to nobody signed in (implied by IsAuthenticated
    on the view, or by 401 among `codes`); `False`: anyone may call it.
    """

    def mark(target: T) -> T:
        declared = {int(status): list(names) for status, names in codes.items()}
        setattr(target, ATTRIBUTE, (declared, signed_in))
        return target

    return mark


def _merge(into: dict[int, list[str]], more: dict[int, list[str]]) -> None:
    for status, names in more.items():
        bucket = into.setdefault(status, [])
        bucket.extend(name for name in names if name not in bucket)


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the same request again.",
        "schema": {"type": "integer", "minimum": 1},
        "required": False,
    }
}


def error_response(status: int, codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{c}`" for c in codes)
    response: dict[str, Any] = {
        "description": f"{STATUS_MEANING.get(status, 'Refused.')} Codes: {listed}",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["code", "detail", "fields"],
                    "properties": {
                        "code": {"type": "string", "enum": codes},
                        "detail": {"type": "string", "description": "A sentence for people."},
                        "fields": {
                            "type": "object",
                            "description": "Messages per field or query parameter (may be empty).",
                            "additionalProperties": True,
                        },
                    },
                    # Some refusals carry facts beside the sentence (e.g. `retry_after`).
                    "additionalProperties": True,
                }
            }
        },
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def _is_download(operation: dict[str, Any]) -> bool:
    """A file (CSV, PDF) whatever the Accept header says: every success has content, none JSON."""
    successes = [r for status, r in operation.get("responses", {}).items() if str(status).startswith("2")]
    return bool(successes) and all(
        r.get("content") and "application/json" not in r["content"] for r in successes
    )


class AutoSchema(openapi.AutoSchema):
    def _declared(self) -> tuple[dict[int, list[str]], bool | None]:
        """What the method and its class declare, merged with what every class it inherits
        from declares, on the method or on the class: a subclass of a shared view adds its
        own codes (`IssueOpenApi` beside `_IssueTransitionApi.post`), and keeps those of the
        view it extends (`IssueDecisionListApi.get` calling `DecisionListApi`'s). Whether
        it answers 401 is said by the nearest declaration that says it."""
        codes: dict[int, list[str]] = {}
        signed_in: bool | None = None
        method = self.method.lower()
        for klass in type(self.view).__mro__:
            handler = klass.__dict__.get(method)
            for found in (getattr(handler, ATTRIBUTE, None), klass.__dict__.get(ATTRIBUTE)):
                if found is not None:
                    declared, said = found
                    _merge(codes, declared)
                    signed_in = said if signed_in is None else signed_in
        return codes, signed_in

    def _signed_in(self) -> bool:
        declared, signed_in = self._declared()
        if signed_in is not None:
            return signed_in
        if 401 in declared:
            return True
        return any(isinstance(p, IsAuthenticated) for p in self.view.get_permissions())

    def get_auth(self) -> list[dict[str, list[str]]]:
        auth = super().get_auth()
        if self._signed_in():
            auth = [requirement for requirement in auth if requirement]
        return auth

    def _error_codes(self, operation: dict[str, Any]) -> dict[int, list[str]]:
        codes: dict[int, list[str]] = {}
        declared, _ = self._declared()
        if self.method in ("POST", "PUT", "PATCH") and "requestBody" in operation:
            _merge(codes, BODY_CODES)
            _merge(codes, MEDIA_CODES)
        parameters = operation.get("parameters", [])
        if any(p.get("in") == "query" for p in parameters):
            _merge(codes, QUERY_CODES)
        if any(p.get("in") == "header" for p in parameters):
            _merge(codes, HEADER_CODES)
        if any(p.get("in") == "path" for p in parameters):
            _merge(codes, PATH_CODES)
        if self._signed_in():
            _merge(codes, SIGNED_IN_CODES)
        elif self.get_auth():
            _merge(codes, TOKEN_CODES)
        _merge(codes, declared)
        _merge(codes, ALWAYS)
        if not _is_download(operation):
            # DRF's content negotiation: an Accept header that rules out JSON.
            _merge(codes, {406: ["not_acceptable"]})
        return codes

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "path" and schema.get("type") == "integer":
                schema.update({"minimum": 1, "maximum": MAX_ID})
            if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                schema.setdefault("minLength", 1)  # a blank parameter is refused (bondplatform.query)
        responses = operation.setdefault("responses", {})
        for status, codes in sorted(self._error_codes(operation).items()):
            responses.setdefault(str(status), error_response(status, codes))
        return operation


class MoneyFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "bondplatform.fields.MoneyField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        if direction == "response" or field.read_only:
            return dict(MONEY_OUT)
        pattern = MONEY_IN_PATTERN if field.allow_zero else MONEY_IN_NONZERO_PATTERN
        return {
            "type": "string",
            "pattern": pattern,
            "example": "250.00",
            "description": "Pounds with at most two decimals, as a string.",
        }


class RateFieldExtension(OpenApiSerializerFieldExtension):
    """Rates in percent (`DecimalField(min_value=0, max_value=100, decimal_places=2)`): a pattern that
    says 0 to 100, so that every string the schema allows is a rate the service takes."""

    target_class = "rest_framework.fields.DecimalField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        is_rate = field.min_value == 0 and field.max_value == 100 and field.decimal_places == 2
        if is_rate and schema.get("type") == "string":
            schema.pop("format", None)
            schema.update({"type": "string", "pattern": RATE_PATTERN, "example": "4.50"})
        return schema


class PrimaryKeyFieldExtension(OpenApiSerializerFieldExtension):
    """An object named by its id in a body: a database id, from 1."""

    target_class = "rest_framework.relations.PrimaryKeyRelatedField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("type") == "integer":
            schema.update({"minimum": 1, "maximum": MAX_ID})
        return schema


# Text in: no NUL character (DRF refuses it: "Null characters are not allowed."). Where the
# text may be blank, drf-spectacular adds the empty string as the other branch of a `oneOf`.
TEXT_PATTERN = r"^[^\x00]+$"
# Text in that may not be blank: also a character that is neither white space nor NUL.
TEXT_NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


class TextFieldExtension(OpenApiSerializerFieldExtension):
    """Text as DRF takes it: never a NUL character, and, where it may not be blank, at least
    one character that is not white space (DRF trims it first, so "\\n" is blank too)."""

    target_class = "rest_framework.fields.CharField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and schema.get("type") == "string" and "enum" not in schema:
            if not field.allow_blank and field.trim_whitespace:
                schema.setdefault("pattern", TEXT_NOT_BLANK_PATTERN)
            else:
                schema.setdefault("pattern", TEXT_PATTERN)
        return schema
