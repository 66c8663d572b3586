"""Prometheus metrics (prometheus-client), one registry per application.

Per process, kept as requests are answered: `sagsflow_http_requests_total` (method, route
template, status) and `sagsflow_http_request_duration_seconds` (method, route template). Read
from the database at each scrape (the same from every process serving it, so several `serve`
processes need no shared state): the open deadlines by rule and status, and the outbox by
status — the sweep creates notifications and delivery sends, parks or drops them, in the flows'
processes, so the database is where their counts live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from threading import Lock

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from sagsflow.context import Context
from sagsflow.read.operations import notifications_by_status, open_deadlines

log = logging.getLogger("sagsflow.metrics")

# Seconds: a page answers in tens of milliseconds, a large report in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Scrapes within this many seconds share one read of the database's counts.
CACHE_SECONDS = 10.0


class RequestMetrics:
    """The request counter and latency histogram, registered in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sagsflow_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "sagsflow_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class DomainCollector(Collector):
    """The database's counts at scrape time (cached for `CACHE_SECONDS`); a database that does
    not answer gives `sagsflow_database_up 0` and no counts rather than a failed scrape."""

    def __init__(self, context: Context, cache_seconds: float = CACHE_SECONDS) -> None:
        self.context = context
        self.cache_seconds = cache_seconds
        self._lock = Lock()
        self._read_at = -float("inf")
        self._cached: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.cache_seconds:
                self._cached = self._read()
                self._read_at = time.monotonic()
            yield from self._cached

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily(
            "sagsflow_database_up", "Whether the last read of the database's counts succeeded."
        )
        try:
            deadlines = open_deadlines(self.context)
            outbox = notifications_by_status(self.context)
        except SQLAlchemyError as error:
            log.warning("metrics read failed: %s", type(error).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        open_now = GaugeMetricFamily(
            "sagsflow_deadlines_open",
            "Deadlines not yet met, by rule and status (open: not yet due or not yet swept; "
            "breached: past due, marked by the sweep).",
            labels=("rule", "status"),
        )
        for (rule, status), n in sorted(deadlines.items()):
            open_now.add_metric([rule, status], n)
        notifications = GaugeMetricFamily(
            "sagsflow_notifications",
            "Notifications in the outbox by status: the sweep creates them (pending), delivery "
            "sends (sent), parks (a person must act) or drops them. sent and dropped only grow.",
            labels=("status",),
        )
        for status, n in sorted(outbox.items()):
            notifications.add_metric([status], n)
        return [up, open_now, notifications]


def registry_for(
    context: Context, cache_seconds: float = CACHE_SECONDS
) -> tuple[CollectorRegistry, RequestMetrics]:
    """A registry of this application's own (tests build many applications in one process)."""
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry)
    registry.register(DomainCollector(context, cache_seconds))
    return registry, metrics
