"""The API's one request parser: JSON, refusing what would otherwise crash.

DRF's JSONParser turns syntax errors into a 400 but lets a `RecursionError`
through: `[[[[…]]]]` nested a few thousand deep fits easily in the size limit
and would become a 500. Bodies larger than DATA_UPLOAD_MAX_MEMORY_SIZE never
reach us: DRF reads JSON through `HttpRequest.body`, which refuses them with
`RequestDataTooBig` (a 400 `request_too_large`, see `bondplatform.errors`).
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
