from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from adminpanel.servers import current


def operator(request: HttpRequest) -> dict[str, Any]:
    """The signed-in operator and the server, for the page header."""
    idle: int = settings.PANEL_SESSION_IDLE_SECONDS
    operator = getattr(request, "operator", None)
    return {
        "operator": operator,
        "pymap_server": current.for_request(request),
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
