"""The ``pymap-admin`` command of a user write (made by the write's action,
users/actions.py), carried to the page the write redirects to
(POST-redirect-GET), which shows it once.

The command holds no secret (adminpanel/pymap/cli_commands.py), so it may wait
in the session; it is shown only on the page the write redirected to, and
only within a minute.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest

from adminpanel.pymap import cli_commands

SESSION_KEY = "users.shown_command"
MAX_AGE_SECONDS = 60


def remember(
    request: HttpRequest, shown_on: str, command: cli_commands.ShownCommand | None
) -> None:
    """Keep the command an action returned for the page at ``shown_on``."""
    if command is None:
        return
    request.session[SESSION_KEY] = {
        "path": shown_on,
        "at": time.time(),
        "command": command.as_dict(),
    }


def take(request: HttpRequest) -> dict[str, Any] | None:
    """The command waiting for this page, removed from the session; or None."""
    waiting = request.session.get(SESSION_KEY)
    if not isinstance(waiting, dict) or waiting.get("path") != request.get_full_path():
        return None
    request.session.pop(SESSION_KEY, None)
    if time.time() - float(waiting.get("at", 0)) > MAX_AGE_SECONDS:
        return None
    command = waiting.get("command")
    return command if isinstance(command, dict) else None
