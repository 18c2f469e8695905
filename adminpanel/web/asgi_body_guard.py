"""Refusing request bodies under ASGI before Django reads them.

Django's ASGI handler reads the whole body into a temporary file before any
middleware runs, so a view's own limit comes too late: a 300 MiB POST to the
sign-in page once left a 263 MB file behind. This wrapper applies each URL's
limit first (:func:`adminpanel.web.request_limits.body_limit`, which allows a large
body only on the upload URLs and only from a signed-in session):

* a ``Content-Length`` over the limit is answered 413 without reading a byte;
* without one, bytes are counted and the request is cut off (413) once they
  pass the limit;
* the body must arrive within ``PANEL_REQUEST_BODY_SECONDS`` plus its size
  at ``PANEL_REQUEST_BODY_MIN_RATE`` bytes per second, or the request is cut
  off (408): announcing 30 MB and sending nothing no longer holds a
  connection open.

Every refusal closes the connection (the client may still be sending).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.urls import Resolver404, resolve

from adminpanel.accounts.middleware import holds_current_operator
from adminpanel.lib.body_limits import DEFAULT_MAX_BODY_SIZE
from adminpanel.servers.middleware import app_path
from adminpanel.web.request_limits import body_limit, content_length

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = (413, b"Request body too large.\n")
TOO_SLOW = (408, b"The request body did not arrive in time.\n")


async def _refuse(send: Send, answer: tuple[int, bytes]) -> None:
    status, body = answer
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            found: bytes = value
            return found
    return None


def _session_key(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if raw is None:
        return None
    try:
        cookies = SimpleCookie(raw.decode("latin-1"))
    except CookieError:
        return None
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None else None


def _is_signed_in(session_key: str) -> bool:
    """Whether the session holds a current operator (in the request's thread,
    where Django will use the same database connection next)."""
    close_old_connections()
    try:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
        return holds_current_operator(store.load(), time.time())
    except DatabaseError:
        return False  # fail closed: the default limit; Django reports the database
    finally:
        # A pooled PostgreSQL connection goes back to its pool; a kept SQLite
        # one stays open for the request.
        close_old_connections()


async def limit_for(scope: Scope) -> int:
    """The body limit of the URL ``scope`` asks for."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    # With a servers file the URL starts with /s/<server>/, which the apps'
    # patterns never see: find the view as ServerPrefixMiddleware will.
    view_path = app_path(path)
    if view_path is None:
        return DEFAULT_MAX_BODY_SIZE  # an unknown server: the router answers 404
    try:
        view = resolve(view_path).func
    except Resolver404:
        return DEFAULT_MAX_BODY_SIZE
    without_session = body_limit(view, signed_in=False)
    if body_limit(view, signed_in=True) == without_session:
        return without_session  # no session lookup for ordinary URLs
    key = _session_key(scope)
    signed_in = key is not None and await sync_to_async(_is_signed_in)(key)
    return body_limit(view, signed_in=signed_in)


def body_seconds(size: int) -> float:
    """How long a body of ``size`` bytes may take to arrive."""
    grace: float = settings.PANEL_REQUEST_BODY_SECONDS
    rate: int = settings.PANEL_REQUEST_BODY_MIN_RATE
    return grace + size / rate


def _has_no_body(scope: Scope) -> bool:
    """An HTTP/1.x request without Content-Length and Transfer-Encoding has
    no body (RFC 9112 6.3; uvicorn says which version): nothing to limit, and
    no need to find its view (a URL resolution per page view, 0.1 ms). HTTP/2
    may send a body without either, so it is always guarded."""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return False
    if _header(scope, b"transfer-encoding") is not None:
        return False
    raw = _header(scope, b"content-length")
    return raw is None or raw.strip() == b"0"


def guard_asgi_body(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so that no HTTP body over its URL's limit, or too slow,
    reaches it."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _has_no_body(scope):
            await app(scope, receive, send)
            return
        limit = await limit_for(scope)
        length = content_length(_header(scope, b"content-length"))
        if length is not None and length > limit:
            await _refuse(send, TOO_LARGE)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + body_seconds(length if length is not None else limit)
        received = 0
        complete = False
        refusal: tuple[int, bytes] | None = None

        async def guarded_receive() -> Message:
            nonlocal received, complete, refusal
            if complete or refusal is not None:
                # The body is in; Django now listens for the disconnect.
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refusal = TOO_SLOW
                # Django treats a disconnect as an aborted request and sends
                # nothing; the refusal is sent below.
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refusal = TOO_LARGE
                    return {"type": "http.disconnect"}
                complete = not message.get("more_body", False)
            return message

        await app(scope, guarded_receive, send)
        if refusal is not None:
            await _refuse(send, refusal)

    return guarded
