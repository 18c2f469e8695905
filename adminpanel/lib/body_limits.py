"""How large a view lets a request body be, and the 413 page.

Views mark themselves with :func:`max_body_size`; the request-size middleware
and the ASGI body guard (adminpanel/web/) read the mark before any body is
read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat

from .pages import render_error

#: Django's own DATA_UPLOAD_MAX_MEMORY_SIZE default, for views without a limit.
DEFAULT_MAX_BODY_SIZE = 2_621_440
#: Room for a multipart body's boundaries, part headers and small fields.
MULTIPART_OVERHEAD = 1024 * 1024

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponse])


def max_body_size(setting: str) -> Callable[[ViewT], ViewT]:
    """Let a multipart view accept bodies of up to the size the setting named
    ``setting`` allows, plus room for the multipart framing (read at request
    time, so settings overrides apply)."""

    def limit() -> int:
        allowed: int = getattr(settings, setting)
        return allowed + MULTIPART_OVERHEAD

    def mark(view: ViewT) -> ViewT:
        view.max_body_size = limit  # type: ignore[attr-defined]
        return view

    return mark


def too_large(
    request: HttpRequest, size: int, limit: int, what: str = "This request"
) -> HttpResponse:
    return render_error(
        request,
        413,
        f"{what} is {filesizeformat(size)}; the panel accepts at most "
        f"{filesizeformat(limit)} here. Nothing was sent to the mail server.",
        title="Too large",
    )
