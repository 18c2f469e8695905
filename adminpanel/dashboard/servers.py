"""Every configured server at once: versions, health and round trip."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminpanel.accounts import session
from adminpanel.accounts.context_processors import ServerChoice, server_choices
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError
from adminpanel.pymap.results import ServerStatus
from adminpanel.servers import current


@dataclass(frozen=True)
class Row:
    choice: ServerChoice
    status: ServerStatus | None
    error: str | None


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """One call per server, all at once (service.survey): a server that is
    down is shown as down, in no more than its own timeout."""
    servers = current.all_servers()
    started = time.monotonic()
    answers = service.survey(servers)
    elapsed_ms = (time.monotonic() - started) * 1000
    signed_in = set(session.load_all(request))
    choices = server_choices(request, current.for_request(request), signed_in)
    rows = [
        Row(choice, None, answer.message)
        if isinstance(answer, PymapError)
        else Row(choice, answer, None)
        for choice, answer in zip(choices, answers, strict=True)
    ]
    return render(
        request,
        "dashboard/servers.html",
        {"rows": rows, "elapsed_ms": elapsed_ms, "no_server_in_title": True},
    )
