"""Whether this panel process can do its work: what ``/health/ready`` answers.

Three parts, each cheap: the panel's database answers ``SELECT 1``; every
configured pymap server's admin service answers grpc.health SERVING within
``PANEL_READY_TIMEOUT`` seconds (all at once); and the task queue's oldest
waiting job, reported but not judged (a queue that grows old means the task
workers are down, which a web process cannot mend: alert on it instead).

What it says is safe for anyone to read: servers by their index and
configured name only (never a socket path, host name or version), statuses as
fixed words, no error text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError, ServerTimeout
from adminpanel.servers import current

log = logging.getLogger(__name__)

#: The one word a server's part is shown with.
SERVER_WORDS = {
    service.Health.SERVING: "serving",
    service.Health.NOT_SERVING: "not serving",
    service.Health.UNKNOWN: "unknown",
}


@dataclass(frozen=True)
class Readiness:
    ready: bool
    body: dict[str, Any]


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("readiness: the database does not answer (%s)", type(exc).__name__)
        return False
    return True


def _server_word(answer: service.Health | PymapError) -> str:
    if isinstance(answer, ServerTimeout):
        return "timeout"
    if isinstance(answer, PymapError):
        return "unreachable"
    return SERVER_WORDS[answer]


def _task_queue() -> dict[str, Any]:
    waiting = DBTaskResult.objects.ready()
    oldest = waiting.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return {"waiting": waiting.count(), "oldest_waiting_seconds": round(max(age, 0.0), 1)}


def check() -> Readiness:
    database_ok = _database()
    servers = current.all_servers()
    answers = service.health_survey(servers, settings.PANEL_READY_TIMEOUT)
    server_parts = [
        {"index": index, "name": server.name, "status": _server_word(answer)}
        for index, (server, answer) in enumerate(zip(servers, answers, strict=True))
    ]
    servers_ok = all(part["status"] == "serving" for part in server_parts)
    body: dict[str, Any] = {
        "status": "ready" if database_ok and servers_ok else "not ready",
        "database": "ok" if database_ok else "failing",
        "servers": server_parts,
    }
    if database_ok:
        try:
            body["task_queue"] = _task_queue()
        except DatabaseError:
            body["task_queue"] = "unknown"
    return Readiness(database_ok and servers_ok, body)
