"""Pagination for every list: `?limit=&offset=`, bounded.

DRF's LimitOffsetPagination accepts any positive integer; an offset past
what a database integer holds is a 500 on SQLite. Limits are capped at
MAX_LIMIT and offsets at MAX_OFFSET (a page past the end is simply empty).
"""

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 500

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
