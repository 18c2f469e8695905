"""Request body limits: 413 for a body larger than its view allows, before any
of it is parsed.

A view raises its own limit with :func:`max_body_size`; every other view keeps
Django's usual 2.5 MB. Two layers apply the limits:

* :class:`RequestSizeLimitMiddleware` compares ``Content-Length`` with the
  resolved view's limit in ``process_view``, before CSRF reads ``request.POST``.
  Under WSGI nothing of the body has been read at that point.
* :func:`limit_asgi_body` wraps the ASGI application. Django's ASGI handler
  reads the whole body into a temporary file before any middleware runs, so
  this wrapper refuses a body over ``PANEL_MAX_REQUEST_BYTES`` (the largest
  any view accepts) before Django reads it, counting bytes when there is no
  ``Content-Length``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat

from adminpanel.errors import render_error

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


def _content_length(raw: str | bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


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
        limit_of: Callable[[], int] | None = getattr(view_func, "max_body_size", None)
        limit = limit_of() if limit_of is not None else DEFAULT_MAX_BODY_SIZE
        length = _content_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > limit:
            return too_large(request, length, limit)
        return None


# --- ASGI ----------------------------------------------------------------------

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _send_413(send: Send) -> None:
    body = b"Request body too large.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def limit_asgi_body(app: ASGIApp) -> ASGIApp:
    """Refuse HTTP bodies over ``settings.PANEL_MAX_REQUEST_BYTES`` unread."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limit: int = settings.PANEL_MAX_REQUEST_BYTES
        headers = dict(scope.get("headers") or [])
        length = _content_length(headers.get(b"content-length"))
        if length is not None and length > limit:
            await _send_413(send)
            return
        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django treats a disconnect as an aborted request and
                    # sends nothing; the 413 is sent below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        await app(scope, counting_receive, send)
        if exceeded:
            await _send_413(send)

    return guarded
