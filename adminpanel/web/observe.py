"""The request's id, its log line and its metrics: the first middleware.

The id comes from the header ``PANEL_REQUEST_ID_HEADER`` (``X-Request-ID``)
when a proxy sent one we accept (adminpanel/lib/request_context.py), else it
is made here; it goes back in the response's same header, onto every log
line of the request and into its audit events, and nowhere else (never to
pymap). At the end: one log line (method, path, status, duration; probes at
DEBUG) and the request counted per view.

No database query and no session read: ordinary pages pay nothing for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from adminpanel.accounts.middleware import current_operator
from adminpanel.lib import metrics, request_context
from adminpanel.servers import current

log = logging.getLogger("adminpanel.request")

#: Views whose line is DEBUG: probes and scrapes come every few seconds.
QUIET_VIEWS = frozenset({"health:live", "health:ready", "metrics"})


def _view_name(request: HttpRequest) -> str:
    named = request_context.current().view
    if named:
        return named
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"
    # Answered before a view was chosen (a redirect, WhiteNoise's root files,
    # 404): one label, so that arbitrary paths do not become metric labels.
    return "unresolved"


class RequestObservingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header: str = settings.PANEL_REQUEST_ID_HEADER

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_context.request_id_from(request.headers.get(self.header))
        handle = request_context.begin(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[self.header] = request_id
            duration = time.perf_counter() - started
            view = _view_name(request)
            operator = current_operator(request)
            if operator is not None:  # also the one a sign-in just signed in
                request_context.update(operator=operator.identity.label)
            metrics.HTTP_REQUESTS.labels(
                view, request.method or "", str(response.status_code)
            ).inc()
            metrics.HTTP_LATENCY.labels(view).observe(duration)
            log.log(
                logging.DEBUG if view in QUIET_VIEWS else logging.INFO,
                "%s %s %d %.1f ms",
                request.method,
                request.path,
                response.status_code,
                duration * 1000,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration": round(duration, 4),
                },
            )
            return response
        finally:
            request_context.end(handle)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        """The view, the operator and the server, once the URL is resolved and
        the session read (by the middleware after this one)."""
        match = request.resolver_match
        operator = current_operator(request)
        request_context.update(
            view=match.view_name if match is not None else "",
            operator=operator.identity.label if operator is not None else "",
            server=current.for_request(request).name,
        )
