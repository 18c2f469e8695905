"""Each operator's time zone: chosen once, kept per identity, active on every page.

The choice is read from the database once per session and kept in the
session, so a page view costs no query for it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from adminpanel.accounts.middleware import current_operator
from adminpanel.accounts.session import Operator

from .models import TimeZoneChoice

#: The session's copy of the choice ("" means the panel's own zone), with the
#: identity it belongs to (a sign-in keeps the session's other data).
SESSION_KEY = "preferences.time_zone"


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _identity(operator: Operator) -> dict[str, Any]:
    return {
        "server": operator.server,
        "name": operator.name or "",
        "admin_token": operator.name is None,
        "signed_in_as": operator.signed_in_as or "",
    }


def chosen_zone(request: HttpRequest, operator: Operator) -> str:
    """The operator's zone name, or "" for the panel's (``PANEL_TIME_ZONE``)."""
    identity = _identity(operator)
    cached = request.session.get(SESSION_KEY)
    if isinstance(cached, dict) and cached.get("identity") == identity:
        return str(cached.get("zone", ""))
    found = TimeZoneChoice.objects.filter(**identity).values_list("zone", flat=True)
    zone = next(iter(found), "")
    zone = zone if zone in known_zones() else ""
    request.session[SESSION_KEY] = {"identity": identity, "zone": zone}
    return zone


def choose_zone(request: HttpRequest, operator: Operator, zone: str) -> None:
    """Keep ``zone`` ("" for the panel's) for this identity, from now on."""
    identity = _identity(operator)
    if zone:
        TimeZoneChoice.objects.update_or_create(**identity, defaults={"zone": zone})
    else:
        TimeZoneChoice.objects.filter(**identity).delete()
    request.session[SESSION_KEY] = {"identity": identity, "zone": zone}


def panel_zone_name() -> str:
    return str(settings.TIME_ZONE)


class TimeZoneMiddleware:
    """Shows every page in the signed-in operator's zone (after the operator
    session middleware, which sets ``request.operator``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        operator = current_operator(request)
        zone = chosen_zone(request, operator) if operator is not None else ""
        if zone:
            timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
