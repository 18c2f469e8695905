"""Recording and listing the users this panel recently touched (bounded)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from adminpanel.accounts.session import Operator

from .models import LastAction, RecentUser

#: How many names the list keeps; older ones are dropped on the next write.
LIMIT = 50


#: What a later view does not overwrite: the list keeps the strongest action.
#: A view of a user listed as deleted does (the user exists again).
STRONGER_THAN_VIEWED = (LastAction.CREATED, LastAction.EDITED, LastAction.PASSWORD_CHANGED)

#: Names the search box suggests (a datalist), from the top of the list.
SUGGESTIONS = 20


#: A repeat of the same action on the same user within this many seconds is not
#: written again: a page view should not cost a database write every time.
REFRESH_SECONDS = 60


#: (server, name, action) -> when this process last wrote it; saves the database check
#: on repeated views. Each process writes at most once a minute per entry.
_written: dict[tuple[str, str, str], float] = {}

#: The header's search box asks for its suggestions on every page. They
#: change only when this process writes the list (which empties this) or when
#: another process does (seen within SUGGESTIONS_SECONDS), so pages reuse them:
#: (server, whose list: None for an admin's) -> (until, names).
_suggested: dict[tuple[str, str | None], tuple[float, list[str]]] = {}
SUGGESTIONS_SECONDS = 5.0


def forget(**_signal: Any) -> None:
    """Drop the suggestions this process keeps (the database was made anew:
    a test's flush)."""
    _suggested.clear()


def note(server: str, name: str, action: LastAction) -> None:
    """Remember that ``name`` on ``server`` was just viewed or changed, and
    keep that server's list bounded.

    A view does not replace a stronger action (created, edited, password
    changed): the list keeps saying what was done, with its time.
    """
    key = (server, name, str(action))
    if time.monotonic() - _written.get(key, -REFRESH_SECONDS) < REFRESH_SECONDS:
        return
    if len(_written) > 10 * LIMIT:
        _written.clear()
    _written[key] = time.monotonic()
    now = timezone.now()
    on_server = RecentUser.objects.filter(server=server)
    fresh = on_server.filter(
        name=name, last_action=action, last_seen__gte=now - timedelta(seconds=REFRESH_SECONDS)
    )
    if fresh.exists():
        return
    try:
        with transaction.atomic():
            if (
                action == LastAction.VIEWED
                and on_server.filter(name=name, last_action__in=STRONGER_THAN_VIEWED).exists()
            ):
                return  # "Created" or "Edited" says more than the view that followed
            _, created = RecentUser.objects.update_or_create(
                server=server, name=name, defaults={"last_action": action, "last_seen": now}
            )
            if created:
                stale = list(on_server.values_list("pk", flat=True)[LIMIT:])
                if stale:
                    RecentUser.objects.filter(pk__in=stale).delete()
    finally:
        _suggested.clear()  # after the commit: no page refills it with the old list


def visible_to(operator: Operator) -> QuerySet[RecentUser]:
    """The list of the operator's server: with the admin role the whole of it;
    others see only themselves."""
    on_server = RecentUser.objects.filter(server=operator.server)
    if operator.is_admin:
        return on_server
    return on_server.filter(name=operator.name or "")


def suggested_names(operator: Operator) -> list[str]:
    """Names for the search box to suggest: recent ones, deleted users left out."""
    key = (operator.server, None if operator.is_admin else operator.name or "")
    now = time.monotonic()
    until, names = _suggested.get(key, (0.0, []))
    if now < until:
        return names
    entries = visible_to(operator).exclude(last_action=LastAction.DELETED)
    names = list(entries.values_list("name", flat=True)[:SUGGESTIONS])
    if len(_suggested) > 10 * LIMIT:
        _suggested.clear()
    _suggested[key] = (now + SUGGESTIONS_SECONDS, names)
    return names
