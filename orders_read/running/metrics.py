"""Prometheus metrics of the query side, and the `/metrics` page.

Counters (events applied, failures) count in each process; with several server processes
set `PROMETHEUS_MULTIPROC_DIR` to an empty folder shared by them (prometheus-client's
multiprocess mode). Positions and lag are read from the database on every scrape, so every
process reports the same.
"""

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orders_write.event_reader import head

from .runner import active_runner
from .status import projection_statuses

EVENTS_APPLIED = Counter(
    "orders_projection_events_applied",
    "Events applied to a projection, by projection and by who applied them.",
    ["projection", "by"],
)
FAILURES = Counter(
    "orders_projection_failures", "Events a projection failed to apply.", ["projection"]
)


GAUGES = {
    # metric suffix: (help, how to read it from a ProjectionStatus)
    "position": ("Position of the last event the projection applied.", "position"),
    "lag_events": ("Events the projection has not applied yet.", "lag"),
    "lag_seconds": ("Age of the oldest event the projection has not applied.", "lag_seconds"),
    "open_failures": ("Failures neither retried nor skipped.", "open_failures"),
    "stalled": ("1 while the projection waits for catch-up.", "stalled"),
    "behind": ("1 while the projection has events to apply and is not stalled.", "behind"),
}
STATES = ("stalled", "behind")
HEAD = ("orders_event_store_head", "Position of the newest event in the store.")
WORKERS_ALIVE = (
    "orders_projection_workers_alive",
    "Async mode: 1 while a Celery worker has run the sweep within three sweep periods.",
)
HEARTBEAT_AGE = (
    "orders_projection_worker_heartbeat_age_seconds",
    "Async mode: seconds since a Celery worker last ran the sweep (+Inf if never).",
)


class ProjectionCollector(Collector):
    """Report each projection's position, lag and failures as the database has them."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for suffix, (documentation, _) in GAUGES.items():
            yield GaugeMetricFamily(
                f"orders_projection_{suffix}", documentation, labels=["projection"]
            )
        yield GaugeMetricFamily(*HEAD)
        yield GaugeMetricFamily(*WORKERS_ALIVE)
        yield GaugeMetricFamily(*HEARTBEAT_AGE)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        statuses = projection_statuses()
        for suffix, (documentation, field) in GAUGES.items():
            family = GaugeMetricFamily(
                f"orders_projection_{suffix}", documentation, labels=["projection"]
            )
            for status in statuses:
                value = status.state == field if field in STATES else getattr(status, field)
                family.add_metric([status.name], float(value))
            yield family
        yield GaugeMetricFamily(*HEAD, value=head().position)
        workers = active_runner().workers_heartbeat()
        if workers is not None:
            alive, age = workers
            yield GaugeMetricFamily(*WORKERS_ALIVE, value=float(alive))
            yield GaugeMetricFamily(*HEARTBEAT_AGE, value=float("inf") if age is None else age)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(ProjectionCollector())
        return registry
    return REGISTRY


_SHARED = _registry()
if _SHARED is REGISTRY:
    REGISTRY.register(ProjectionCollector())


def metrics_page(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to Prometheus: with `METRICS_TOKEN` set, to a bearer of it; without,
    only while DEBUG is on."""
    token = settings.METRICS_TOKEN
    if not token and not settings.DEBUG:
        raise Http404
    if token and not _bears(request, token):
        response = HttpResponse("Send the metrics token as a bearer token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_SHARED), content_type=CONTENT_TYPE_LATEST)


def _bears(request: HttpRequest, token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
