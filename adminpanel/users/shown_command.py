"""The ``pymap-admin`` command of a user write, carried to the page the write
redirects to (POST-redirect-GET), which shows it once.

The command holds no secret (adminpanel/pymap/cli_commands.py), so it may wait
in the session; it is shown only on the page the write redirected to, and
only within a minute.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest

from adminpanel.pymap import cli_commands
from adminpanel.servers import current, knowledge

from .actions import Edit, Saved
from .links import user_url

SESSION_KEY = "users.shown_command"
MAX_AGE_SECONDS = 60


def remember(request: HttpRequest, shown_on: str, command: cli_commands.ShownCommand) -> None:
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


def after_create(
    request: HttpRequest,
    name: str,
    *,
    password: bool,
    roles: Iterable[str],
    params: Mapping[str, str],
) -> None:
    server = current.for_request(request)
    command = cli_commands.create_user(
        server,
        knowledge.capabilities(server),
        name,
        password=password,
        roles=roles,
        params=params,
    )
    remember(request, user_url("users:detail", name), command)


def after_edit(request: HttpRequest, name: str, edit: Edit) -> None:
    server = current.for_request(request)
    command = cli_commands.edit_user(
        server,
        knowledge.capabilities(server),
        name,
        password=edit.password is not None,
        roles=edit.yours.roles,
        params=edit.yours.params,
    )
    remember(request, user_url("users:detail", name), command)


def after_password(request: HttpRequest, name: str, saved: Saved) -> None:
    """The password change, with the roles and params as read back (where the
    command must send them); none if they could not be read back."""
    if saved.stored is None:
        return
    server = current.for_request(request)
    command = cli_commands.change_password(
        server,
        knowledge.capabilities(server),
        name,
        roles=saved.stored.roles,
        params=saved.stored.params,
    )
    remember(request, user_url("users:detail", name), command)


def after_delete(request: HttpRequest, name: str, shown_on: str) -> None:
    command = cli_commands.delete_user(current.for_request(request), name)
    remember(request, shown_on, command)
