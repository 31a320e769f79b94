"""The ledger's figures for `/metrics`: how many entries have been posted, across every issuer.

Read from the chain heads at each scrape (one short query), so it counts the
entries every process posted (web requests and the worker's interest runs
alike) and survives restarts: a true counter, whose `rate()` is the posting rate.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Sum
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ledger.models import LedgerHead

NAME = "ledger_entries"
HELP = "Ledger entries posted (all issuers); rate() is the posting rate."


class LedgerCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(NAME, HELP)

    def collect(self) -> Iterable[Metric]:
        total = LedgerHead.objects.aggregate(total=Sum("last_sequence"))["total"] or 0
        counter = CounterMetricFamily(NAME, HELP)
        counter.add_metric([], total)
        yield counter
