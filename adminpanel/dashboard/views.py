from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminpanel.accounts.middleware import get_operator, passive_view
from adminpanel.lib.version import panel_version
from adminpanel.preferences.zones import chosen_zone
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError
from adminpanel.servers import current, knowledge

from .activity import recent_activity

#: The gRPC health check's answer (shown too, folded away), in plain words.
HEALTH_WORDS = {
    service.Health.SERVING: "Healthy",
    service.Health.NOT_SERVING: "Not healthy: the server says it cannot serve",
    service.Health.UNKNOWN: "Unknown",
}


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Which server, which versions, whether it is healthy, how fast it answers.

    Ping failing means the server is unreachable: the error middleware turns
    that into a 503 page. A server that answers Ping but not Health shows
    health as unknown rather than failing the page.
    """
    server = current.for_request(request)
    status = service.status(server)
    error = status.health_error
    return render(
        request,
        "dashboard/index.html",
        {
            "server": server,
            "info": status.info,
            "health": status.health.value,
            "health_words": HEALTH_WORDS[status.health],
            "health_error": error.message if error is not None else None,
            "caps": knowledge.capabilities(server),
            "activity": recent_activity(get_operator(request)),
            "panel_version": panel_version(),
            "chosen_zone": chosen_zone(request, get_operator(request)),
        },
    )


@passive_view
@require_GET
def health_status(request: HttpRequest) -> JsonResponse:
    """The dashboard's health badge refreshes itself from here (static/panel/health.js).

    Never an error page: an unreachable server is a status like any other.
    """
    server = current.for_request(request)
    try:
        status = service.status(server)
    except PymapError as exc:
        return JsonResponse(_health(service.Health.UNKNOWN, error=exc.message))
    if status.health_error is not None:
        return JsonResponse(_health(status.health, error=status.health_error.message))
    return JsonResponse(_health(status.health, round_trip_ms=round(status.info.round_trip_ms, 1)))


def _health(health: service.Health, **more: object) -> dict[str, object]:
    """The badge's state: the plain words and the health check's own."""
    return {"health": health.value, "words": HEALTH_WORDS[health], **more}
