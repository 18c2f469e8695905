"""``/health/live``, ``/health/ready`` and ``/metrics``, answered before the rest.

Load balancers, orchestrators and scrapers call these without a session, over
plain HTTP from inside the network, with whatever Host header they like. So
this middleware sits before the security middleware (no HTTPS redirect, no
ALLOWED_HOSTS check), the sessions, CSRF and the sign-in requirement, and
answers them itself: nothing after it runs and no session is read.

- live: 200 ``{"status": "alive"}`` whenever the process answers; nothing else
  is checked, so an orchestrator restarts the panel only when it is stuck.
- ready: 200 or 503 with each part's status (adminpanel/web/readiness.py).
- metrics: Prometheus text for a bearer token (adminpanel/web/metrics.py).

Every answer is ``no-store`` and ``nosniff`` with a policy that allows
nothing (they are JSON or text, never a page); none names a path, host,
version or token.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers

from adminpanel.lib import request_context

from . import metrics, readiness

LIVE = "/health/live"
READY = "/health/ready"
METRICS = "/metrics"


def _live(request: HttpRequest) -> HttpResponseBase:
    return JsonResponse({"status": "alive"})


def _ready(request: HttpRequest) -> HttpResponseBase:
    result = readiness.check()
    return JsonResponse(result.body, status=200 if result.ready else 503)


#: Path (without its trailing slash) -> the name logs and metrics use, and the answer.
PROBES: dict[str, tuple[str, Callable[[HttpRequest], HttpResponseBase]]] = {
    LIVE: ("health:live", _live),
    READY: ("health:ready", _ready),
    METRICS: ("metrics", metrics.metrics),
}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is None:
            return self.get_response(request)
        name, answer = probe
        request_context.update(view=name)
        if request.method not in ("GET", "HEAD"):
            response: HttpResponseBase = HttpResponseNotAllowed(["GET", "HEAD"])
        else:
            response = answer(request)
        add_never_cache_headers(response)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
        return response
