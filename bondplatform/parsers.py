"""The API's one request parser: JSON, refusing what would otherwise crash.

JSON nested deeper than `JSON_MAX_DEPTH` is refused before it is parsed
(400 `malformed_request`): `[[[[…]]]]` nested a few thousand deep fits
easily in the size limit, and Python's parser would raise a RecursionError
(a 500) on it, as would anything that later walks the data. No request or
Stripe event the service accepts nests more than a handful of levels. Bodies
larger than DATA_UPLOAD_MAX_MEMORY_SIZE never reach us: DRF reads JSON
through `HttpRequest.body`, which refuses them with `RequestDataTooBig` (a
400 `request_too_large`, see `bondplatform.errors`).
"""

import io
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

JSON_MAX_DEPTH = 64

# A JSON string (skipped whole, so brackets inside it do not count), or a bracket.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_too_deep(data: bytes, max_depth: int = JSON_MAX_DEPTH) -> bool:
    """Whether a JSON document nests arrays and objects more than `max_depth` deep,
    found without parsing it (and stopping at the first bracket too deep)."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # the usual body: too few brackets to nest that deep, counted at C speed
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(data):
        bracket = token[0]
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read()
        if json_too_deep(data):
            raise ParseError(f"JSON parse error - the document is nested more than {JSON_MAX_DEPTH} deep.")
        try:
            return super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:  # deep in a way the count above did not see: still bad input
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
