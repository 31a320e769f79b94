"""Work that should not hold up a request, run by the django-q2 worker after COMMIT, durably.

`after_commit("dotted.path.to.function", key=value)` writes a `QueuedWork`
row in the caller's transaction and, once that commits, hands it to the
worker. The row commits with the business change or not at all, so a
process that dies between COMMIT and the hand-over strands nothing:
`work_dispatch_stranded`, run every minute by the scheduler, runs every row
that nobody claimed. The function must be safe to run again (the tasks here
settle refunds, cancel payments and send e-mails with idempotency keys or
by checking what is already done).

With `settings.BACKGROUND_INLINE` (the test suite) the work runs in this
process right after commit instead, so tests see its effect without a worker.
A failure to hand over is logged, never raised: the row is there for the
minute job.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from bondplatform.models import QueuedWork

logger = logging.getLogger(__name__)

# A worker that claims a row has this long to finish before another may take it.
CLAIM = dt.timedelta(minutes=10)
# The minute job leaves rows this young to the worker that was told about them.
GRACE = dt.timedelta(seconds=30)
# After this many failed attempts a row waits for a person (it stays listed as undone).
MAX_ATTEMPTS = 10


def after_commit(func_path: str, **kwargs: Any) -> QueuedWork:
    """Queue `func_path(**kwargs)` to run once the current transaction has committed."""
    work = QueuedWork.objects.create(func=func_path, kwargs=kwargs)
    transaction.on_commit(lambda: _hand_over(work.pk), robust=True)
    return work


def _hand_over(work_id: int) -> None:
    if settings.BACKGROUND_INLINE:
        work_run(work_id=work_id)
        return
    try:
        async_task("bondplatform.background.work_run", work_id=work_id)
    except Exception:  # the broker is down: the minute job will run it
        logger.exception("Could not hand queued work %s to the worker; the minute job will.", work_id)


def _claim(work_id: int, now: dt.datetime) -> bool:
    """Take the row for this worker, unless it is done or another worker holds it."""
    return bool(
        QueuedWork.objects.filter(pk=work_id, done_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM, attempts=F("attempts") + 1)
    )


def work_run(*, work_id: int) -> bool:
    """Run one queued piece of work (the django-q2 task). False if it was done or taken already."""
    if not _claim(work_id, timezone.now()):
        return False
    work = QueuedWork.objects.get(pk=work_id)
    try:
        import_string(work.func)(**work.kwargs)
    except Exception as exc:
        QueuedWork.objects.filter(pk=work_id).update(claimed_until=None, last_error=repr(exc)[:2000])
        raise
    QueuedWork.objects.filter(pk=work_id).update(done_at=timezone.now(), claimed_until=None, last_error="")
    return True


def work_dispatch_stranded(*, now: dt.datetime | None = None) -> int:
    """Run queued work that never reached a worker, or whose worker died (every minute)."""
    now = now or timezone.now()
    stranded = (
        QueuedWork.objects.filter(
            done_at__isnull=True, created_at__lte=now - GRACE, attempts__lt=MAX_ATTEMPTS
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    ran = 0
    for work_id in stranded:
        try:
            ran += work_run(work_id=work_id)
        except Exception:
            logger.exception("Queued work %s failed; it will be tried again.", work_id)
    return ran
