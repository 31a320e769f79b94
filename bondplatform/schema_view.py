"""The view that serves `/api/schema/` (apart from `bondplatform.schema`, which DRF's settings import
before drf-spectacular's views can be)."""

from __future__ import annotations

import threading
from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView


class SchemaView(SpectacularAPIView):
    """`/api/schema/`, built by one thread at a time.

    drf-spectacular loads its extensions lazily with shared state: two threads
    building the schema at once in a fresh process (runserver, or a threaded
    server) made one of them fail with a 500. Processes (gunicorn's sync
    workers) never shared it; threads now wait their turn.
    """

    _lock = threading.Lock()

    @extend_schema(exclude=True)  # as drf-spectacular's own (SERVE_INCLUDE_SCHEMA is off)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return super().get(request, *args, **kwargs)
