"""Request body limits: 413 for a body larger than its view allows, before any
of it is parsed.

A view raises its own limit with :func:`max_body_size` (the upload views);
every other view keeps Django's usual 2.5 MB, and so does an upload view for
a request without a signed-in session: nobody can make the panel read a
large body without signing in first (:func:`body_limit`). Two layers apply
the limits:

* :class:`RequestSizeLimitMiddleware` compares ``Content-Length`` with the
  resolved view's limit in ``process_view``, before CSRF reads ``request.POST``.
  Under WSGI nothing of the body has been read at that point.
* :mod:`adminpanel.web.asgi_body_guard` wraps the ASGI application: Django's ASGI
  handler reads the whole body into a temporary file before any middleware
  runs, so the guard resolves the URL and applies the same limit first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from adminpanel.accounts.middleware import holds_current_operator
from adminpanel.lib.body_limits import DEFAULT_MAX_BODY_SIZE, too_large


def content_length(raw: str | bytes | None) -> int | None:
    """The declared body length, or None when absent or not a number."""
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def body_limit(view_func: Callable[..., HttpResponseBase], *, signed_in: bool) -> int:
    """The largest body ``view_func`` accepts: its own limit, but no more than
    the default without a signed-in session."""
    limit_of: Callable[[], int] | None = getattr(view_func, "max_body_size", None)
    if limit_of is None:
        return DEFAULT_MAX_BODY_SIZE
    own = limit_of()
    return own if signed_in else min(own, DEFAULT_MAX_BODY_SIZE)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        signed_in = holds_current_operator(dict(request.session.items()), time.time())
        limit = body_limit(view_func, signed_in=signed_in)
        length = content_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > limit:
            return too_large(request, length, limit)
        return None
