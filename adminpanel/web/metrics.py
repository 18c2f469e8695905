"""``/metrics``: the Prometheus exposition, for a scraper with the bearer token.

Off unless ``PANEL_METRICS_TOKEN`` (or ``PANEL_METRICS_TOKEN_FILE``) is set:
then a request without ``Authorization: Bearer <that token>`` gets 401, and
without a token configured the URL is a plain 404. The counters of every
process of the machine are added up when ``PROMETHEUS_MULTIPROC_DIR`` is set
(prometheus-client's multiprocess mode); what the database knows is read now,
for this scrape.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from adminpanel.bulk.models import BulkPlan, PlanState
from adminpanel.mail.models import ImportJob, JobState


class DatabaseCollector(Collector):
    """Imports and bulk runs by state, and the task queue, as the database has them.

    Every instance on one database reports the same numbers: aggregate them
    with ``max``, not ``sum`` (docs/operations.md).
    """

    def collect(self) -> list[Metric]:
        imports = GaugeMetricFamily("panel_imports", "Mailbox imports by state.", labels=["state"])
        counts = dict(ImportJob.objects.values_list("state").annotate(n=Count("id")))
        for state in JobState:
            imports.add_metric([state.value], counts.get(state.value, 0))
        runs = GaugeMetricFamily("panel_bulk_runs", "Bulk plans by state.", labels=["state"])
        counts = dict(BulkPlan.objects.values_list("state").annotate(n=Count("id")))
        for plan_state in PlanState:
            runs.add_metric([plan_state.value], counts.get(plan_state.value, 0))
        ready = DBTaskResult.objects.ready()
        oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
        age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
        waiting = GaugeMetricFamily(
            "panel_task_queue_waiting", "Tasks waiting for a worker.", value=ready.count()
        )
        oldest_age = GaugeMetricFamily(
            "panel_task_queue_oldest_waiting_seconds",
            "Age of the oldest task waiting for a worker (0: none waits).",
            value=age,
        )
        return [imports, runs, waiting, oldest_age]


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        offered.strip().encode(), token.encode()
    )


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)


def metrics(request: HttpRequest) -> HttpResponse:
    token: str = settings.PANEL_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not _authorized(request, token):
        response = HttpResponse(
            "The metrics need a bearer token.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
