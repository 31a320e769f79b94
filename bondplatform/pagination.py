"""Pagination for every list: `?limit=&offset=`, validated and bounded.

`limit` is a whole number from 1 (default PAGE_SIZE; above MAX_LIMIT it is
MAX_LIMIT), `offset` a whole number from 0 (past the end: an empty page;
above MAX_OFFSET it is MAX_OFFSET, since an offset past what a database
integer holds is a 500 on SQLite). Anything else (`limit=ten`, `limit=0`,
`offset=-5`) is 400 `invalid_query`: DRF's own class would quietly answer
the default page, and a client would believe it had asked for something else.
"""

from __future__ import annotations

import re

from rest_framework.pagination import LimitOffsetPagination

from bondplatform.query import query_refused

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1


def _whole_number(request, name: str, *, minimum: int, cap: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"-?[0-9]{1,100}", raw):
        raise query_refused({name: [f"A whole number from {minimum} is required."]})
    value = int(raw)
    if value < minimum:
        raise query_refused({name: [f"Must be {minimum} or more."]})
    return min(value, cap)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request) -> int | None:
        limit = _whole_number(request, self.limit_query_param, minimum=1, cap=MAX_LIMIT)
        return self.default_limit if limit is None else limit

    def get_offset(self, request) -> int:
        offset = _whole_number(request, self.offset_query_param, minimum=0, cap=MAX_OFFSET)
        return 0 if offset is None else offset

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update({"minimum": 1})
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_limit} (more is {self.max_limit})."
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update({"minimum": 0})
        return parameters
