from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from adminpanel.accounts.middleware import current_operator
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current
from adminpanel.servers.middleware import prefix_for

from .session import stored_operators


@dataclass(frozen=True)
class ServerChoice:
    """One entry of the header's server switcher."""

    server: PymapServer
    url: str
    is_current: bool
    signed_in: bool


def operator(request: HttpRequest) -> dict[str, Any]:
    """The signed-in operator, the server, the switcher and the idle warning,
    for the page header."""
    here = current.for_request(request)
    idle: int = settings.PANEL_SESSION_IDLE_SECONDS
    operator = current_operator(request)
    return {
        "operator": operator,
        "pymap_server": here,
        "server_choices": server_choices(request, here, _signed_in(request))
        if current.named_in_urls()
        else (),
        # The idle warning (static/panel/idle-warning.js) shows this long before the limit.
        "idle_seconds": idle,
        "idle_warning_seconds": idle_warning_seconds(idle),
        # From the activity the session has stored (written back only now and then).
        "idle_left_seconds": (
            max(0, int(operator.last_seen + idle - time.time())) if operator is not None else idle
        ),
    }


def idle_warning_seconds(idle: int) -> int:
    """A few minutes before the idle limit: five, or a fifth of a short limit."""
    return min(5 * 60, idle // 5)


def _signed_in(request: HttpRequest) -> set[str]:
    """The servers the session holds a sign-in to (by key: no unsealing)."""
    session = getattr(request, "session", None)
    return set(stored_operators(dict(session.items()))) if session is not None else set()


def server_choices(
    request: HttpRequest, here: PymapServer, signed_in: set[str]
) -> list[ServerChoice]:
    """Every server, in the configured order, with its dashboard's URL."""
    root = str(request.META.get("SCRIPT_NAME", "")).rstrip("/")

    def url(server: PymapServer) -> str:
        return root + (prefix_for(server.name) if current.named_in_urls() else "/")

    return [
        ServerChoice(server, url(server), server.name == here.name, server.name in signed_in)
        for server in current.all_servers()
    ]
