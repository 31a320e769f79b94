"""`/metrics` for Prometheus: request rates and latencies, task queue depth, the ledger's posting rate.

Not public. A scraper sends `Authorization: Bearer <METRICS_TOKEN>`; staff
signed in to the site may look too. Anyone else gets 404 (not signed in: the
page does not exist for them) or 403 (signed in, not staff).

What is measured:
- `http_requests_total{method, route, status}` and
  `http_request_duration_seconds{method, route}`: counted by
  `bondplatform.requestlog.RequestLogMiddleware`; the route is the URL pattern
  (`/api/v1/issues/<int:issue_id>/`), never the path, so a fuzzer's
  thousand made-up paths are one `<unmatched>` series.
- `background_tasks_total{func, outcome}` and `background_task_duration_seconds`:
  in the worker (`python manage.py qcluster`), from django-q2's `post_execute`.
- read from the database at each scrape, so every process agrees:
  `queued_work_undone` (durable after-commit work not done yet:
  `bondplatform.background`), `task_queue_depth` (tasks waiting in django-q2's
  broker), and the gauges and counters apps register with `register`
  (the ledger's `ledger_entries_total`, whose rate is the posting rate).

Several processes (gunicorn's workers, the cluster) each count their own
requests and tasks. Set `PROMETHEUS_MULTIPROC_DIR` to an empty directory
shared by them (emptied at each deploy) and every process writes its counts
there, and `/metrics` adds them up (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bondplatform.models import QueuedWork

logger = logging.getLogger(__name__)

REQUESTS = Counter("http_requests", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter("background_tasks", "Background tasks finished.", ["func", "outcome"])
TASK_SECONDS = Histogram(
    "background_task_duration_seconds",
    "Time a background task ran.",
    ["func"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
)

_collectors: list[Collector] = []


def request_observed(*, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    REQUEST_SECONDS.labels(method=method, route=route).observe(seconds)


def task_observed(*, func: str, outcome: str, seconds: float | None) -> None:
    TASKS.labels(func=func, outcome=outcome).inc()
    if seconds is not None:
        TASK_SECONDS.labels(func=func).observe(seconds)


def register(collector: Collector) -> None:
    """An app's collector, read at each scrape (give it `describe()`: it is not called at start-up)."""
    if collector not in _collectors:
        _collectors.append(collector)


class QueueCollector(Collector):
    """Work waiting: durable after-commit rows not done, and tasks in django-q2's broker."""

    def describe(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("queued_work_undone", "After-commit work not done yet.")
        yield GaugeMetricFamily("task_queue_depth", "Tasks waiting in the django-q2 broker.")

    def collect(self) -> Iterable[Metric]:
        undone = GaugeMetricFamily("queued_work_undone", "After-commit work not done yet.")
        undone.add_metric([], QueuedWork.objects.filter(done_at__isnull=True).count())
        yield undone
        depth = GaugeMetricFamily("task_queue_depth", "Tasks waiting in the django-q2 broker.")
        try:
            depth.add_metric([], get_broker().queue_size())
        except Exception:  # a broker that does not answer is no reason to fail the scrape
            logger.warning("task_queue_depth: the broker did not answer", exc_info=True)
        yield depth


register(QueueCollector())


class _AppCollectors(Collector):
    def collect(self) -> Iterable[Metric]:
        for collector in _collectors:
            yield from collector.collect()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(_AppCollectors())
    return registry


class _Forward(Collector):
    """This process's own metrics (the default registry), inside the scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def _allowed(request: Any) -> bool:
    """A bearer token equal to METRICS_TOKEN, or a signed-in staff member; else 404 or 403."""
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_staff)
    raise Http404


@never_cache
@require_GET
def metrics_view(request):
    if not _allowed(request):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
