"""Query parameters, validated like bodies: junk answers 400 `invalid_query`, never silently ignored.

A client that sends `?status=opne` or `?since=yesterday` and gets the whole
list back would believe a filter applied that did not. Each API view that
reads its query declares a serializer for it and calls `query_validated`;
the same serializer documents the parameters in the schema
(`extend_schema(parameters=[TheQuerySerializer])`).

Unknown parameter names are ignored, as HTTP caches and proxies add their own.
A parameter given empty (`?status=`) is refused like any other bad value, not
taken as absent (DRF's reading of HTML forms); given twice, the last counts.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from bondplatform.errors import BadInput

CODE = "invalid_query"

# The largest id a database column holds (BigAutoField); larger is not an id of anything.
MAX_ID = 2**63 - 1


def query_validated(request: Any, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The request's query parameters, validated by `serializer_class`, or 400 `invalid_query`."""
    query = serializer_class(data=request.query_params.dict())
    if not query.is_valid():
        raise query_refused(query.errors)
    return dict(query.validated_data)


def query_refused(errors: Any) -> BadInput:
    """A BadInput naming each bad parameter, from a serializer's (or hand-made) `{name: [messages]}`."""
    fields: dict[str, list[str]] = {}
    for name, messages in dict(errors).items():
        as_list = messages if isinstance(messages, list) else [messages]
        fields[str(name)] = [str(m) for m in as_list]
    name, messages = next(iter(fields.items()), ("query", ["is not valid"]))
    where = "" if name == "non_field_errors" else f"{name}: "
    return BadInput(f"Query parameter {where}{messages[0]}", code=CODE, fields=fields)


class WholeNumberField(serializers.IntegerField):
    """An integer written as digits only: DRF's own also takes `1.0` and ` 1 `."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not re.fullmatch(r"-?[0-9]{1,30}", data):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A query parameter naming a row by id: a whole number from 1."""
    return WholeNumberField(min_value=1, max_value=MAX_ID, **kwargs)
