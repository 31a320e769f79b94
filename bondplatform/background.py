"""Work that should not hold up a request: handed to the django-q2 worker after COMMIT.

`after_commit("dotted.path.to.function", key=value)` queues the call once the
current transaction has committed (so the worker sees the rows it needs), or
at once outside a transaction. The function must be safe to run again (the
tasks here settle refunds and cancel payments with idempotency keys), since
a periodic task retries whatever is left undone.

With `settings.BACKGROUND_INLINE` (the test suite) the call runs in this
process right after commit instead, so tests see its effect without a worker.
A failure to queue is logged, never raised: the data is committed already,
and the periodic retries pick up what was not done.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def after_commit(func_path: str, **kwargs: Any) -> None:
    def run() -> None:
        if settings.BACKGROUND_INLINE:
            import_string(func_path)(**kwargs)
            return
        async_task(func_path, **kwargs)

    transaction.on_commit(run, robust=True)
