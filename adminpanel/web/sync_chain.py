"""Django's ASGI handler with the whole request, middleware to view, on one
thread in one hop.

Every middleware of the panel is synchronous, and so are its views. Django's
ASGI handler still builds an asynchronous base handler inside them, so each
request went from the event loop to its thread (the middleware), back to the
loop (the base handler), to the thread again (the view), and the same way
out: eight hand-overs between the loop and the thread, four of them for
nothing, each one a wake-up of the other side and a turn of the interpreter
lock (py-spy: ``AsyncToSync`` inside ``PymapErrorMiddleware``). Here the
chain is loaded as under WSGI, with Django's synchronous base handler, and
the ASGI handler runs it on the request's thread with one ``sync_to_async``
(thread-sensitive: the pooled thread of adminpanel/web/request_threads.py).

What stays asynchronous is outside the chain and unchanged: the ASGI
wrappers of adminpanel/asgi.py (body guard, held responses), the streaming of
a response's body, and the calls to pymap, which hop to the loop on their
own (adminpanel/pymap/channels.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        # django-stubs leaves the attribute untyped; it holds the chain's entry.
        chain = cast(
            "Callable[[HttpRequest], HttpResponseBase]",
            self._middleware_chain,  # type: ignore[has-type]
        )
        self._middleware_chain = sync_to_async(chain, thread_sensitive=True)
