"""The error page every app renders: a status, a title and a message."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

TITLES = {
    403: "Not allowed",
    404: "Not found",
    503: "Mail server unreachable",
    504: "Mail server did not answer",
}


def render_error(
    request: HttpRequest, status: int, message: str, *, title: str | None = None
) -> HttpResponse:
    return render(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": title or TITLES.get(status, "Mail server error"),
            "message": message,
        },
        status=status,
    )
