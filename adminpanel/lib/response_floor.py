"""Holding a response back until a moment, without holding a thread for it.

A refused sign-in must take as long whatever refused it (pymap sleeps 0.3 s
for an unknown user name and answers a wrong password in milliseconds), so
the sign-in view asks for its response to leave no earlier than a floor
(:func:`not_before`). Under ASGI (``adminpanel/asgi.py``) the view's thread
is given back at once: the response waits in memory and the event loop sends
it at its moment (:class:`HeldResponse`), so a burst of refused sign-ins
holds no threads. Where there is no event loop (WSGI, Django's test client)
the view's own thread sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Message = Mapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

_held: ContextVar[HeldResponse | None] = ContextVar("held_response", default=None)


def not_before(deadline: float) -> None:
    """Let this request's response leave no earlier than ``deadline``
    (``time.monotonic()``)."""
    held = _held.get()
    if held is None:
        time.sleep(max(0.0, deadline - time.monotonic()))
    else:
        # The thread copied the request's context: this is the ASGI side's object.
        held.until = max(held.until, deadline)


class HeldResponse:
    """Wraps one HTTP request's ASGI ``send``: once a deadline is asked for,
    the response's messages are kept until :meth:`release`."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.until = 0.0
        self._kept: list[Message] = []

    async def send(self, message: Message) -> None:
        holding = self._kept or (
            message["type"] == "http.response.start" and self.until > time.monotonic()
        )
        if holding:
            self._kept.append(message)
        else:
            await self._send(message)

    async def release(self) -> None:
        """Wait for the deadline on the event loop, then send what was kept."""
        if not self._kept:
            return
        await asyncio.sleep(max(0.0, self.until - time.monotonic()))
        kept, self._kept = self._kept, []
        for message in kept:
            await self._send(message)


@contextmanager
def holding(send: Send) -> Iterator[HeldResponse]:
    """For the ASGI entry point: the request run inside sees ``held``."""
    held = HeldResponse(send)
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)
