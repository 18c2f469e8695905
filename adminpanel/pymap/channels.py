"""Long-lived gRPC channels, one per (event loop, server), and where calls run.

A grpclib Channel belongs to the event loop it connected on, so channels are
kept per loop and never shared across loops. Calls run on a long-lived loop,
so that the channel (and its TLS handshake) is reused across requests:

* under ASGI, the server's own loop: :func:`bind_event_loop` is called at
  lifespan start-up (see ``adminpanel/asgi.py``), and each call is handed
  from a view's worker thread to that loop;
* anywhere else (WSGI, tests, management commands, task workers), a loop this
  module owns, in one daemon thread, started on first use.

grpclib reconnects a channel by itself when its connection was lost, so a
restarted pymap is reached again on the next call. :func:`close_all` closes
the channels on shutdown.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar

from grpclib.client import Channel
from grpclib.protocol import H2Protocol

from .servers import DEFAULT_PORT, PymapServer, default_socket_path

P = ParamSpec("P")
T = TypeVar("T")

_pools: dict[asyncio.AbstractEventLoop, dict[PymapServer, Channel]] = {}
_pools_lock = threading.Lock()
_outer_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_own_thread: threading.Thread | None = None
_own_loop_lock = threading.Lock()


class ConnectionStats:
    """How many transport connections channels have opened (tests, benchmark)."""

    opened = 0


class _CountingChannel(Channel):
    async def _create_connection(self) -> H2Protocol:
        ConnectionStats.opened += 1
        return await super()._create_connection()


async def open_channel(server: PymapServer) -> Channel:
    """A new channel to ``server``; it connects lazily, on its first call."""
    if server.uses_tcp:
        return _CountingChannel(
            host=server.host or "localhost",
            port=server.port or DEFAULT_PORT,
            ssl=server.ssl_context(),
        )
    return _CountingChannel(path=server.path or default_socket_path())


async def get(server: PymapServer) -> Channel:
    """The running loop's channel to ``server``, opened on first use."""
    loop = asyncio.get_running_loop()
    with _pools_lock:
        pool = _pools.setdefault(loop, {})
        channel = pool.get(server)
    if channel is None:
        channel = await open_channel(server)
        with _pools_lock:
            # Another task on this loop may have raced us; keep the first.
            channel = pool.setdefault(server, channel)
    return channel


async def close_loop_channels() -> None:
    """Close every channel of the running loop (before the loop ends)."""
    loop = asyncio.get_running_loop()
    with _pools_lock:
        pool = _pools.pop(loop, {})
    for channel in pool.values():
        channel.close()


def bind_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Run calls on ``loop`` (the ASGI server's), or stop doing so (None)."""
    global _outer_loop
    _outer_loop = loop


def _serve_forever(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


def _own_event_loop() -> asyncio.AbstractEventLoop:
    global _own_loop, _own_thread
    with _own_loop_lock:
        if _own_loop is None or _own_loop.is_closed():
            loop = asyncio.new_event_loop()
            _own_thread = threading.Thread(
                target=_serve_forever, args=(loop,), name="pymap-grpc-loop", daemon=True
            )
            _own_thread.start()
            _own_loop = loop
        return _own_loop


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's loop, while it runs; else calls go to this module's."""
    outer = _outer_loop
    return outer if outer is not None and outer.is_running() else None


_thread_state = threading.local()


def set_wait_hook(hook: Callable[[], AbstractContextManager[None]] | None) -> None:
    """Enter ``hook()`` around every wait of this thread for a call's answer
    (None: stop). Bulk work that runs calls from several threads uses it to
    let go of a lock while it waits (adminpanel/bulk/concurrency.py)."""
    _thread_state.wait_hook = hook


def _waiting() -> AbstractContextManager[None]:
    hook: Callable[[], AbstractContextManager[None]] | None = getattr(
        _thread_state, "wait_hook", None
    )
    return hook() if hook is not None else contextlib.nullcontext()


def run(func: Callable[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``func(*args)`` on the long-lived loop and wait for its result.

    A plain ``run_coroutine_threadsafe``, not asgiref's ``async_to_sync``: the
    calls need none of what that adds (the caller's context variables copied
    in and out, an executor on the calling thread for thread-sensitive code
    the call might hand back), and it cost 0.2-0.3 ms a call under uvicorn.
    """
    loop = _serving_loop() or _own_event_loop()
    if asyncio._get_running_loop() is loop:
        # Waiting here would stop the very loop that has to answer.
        raise RuntimeError("channels.run() called from its own event loop's thread")
    with _waiting():
        return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), loop).result()


def start(
    func: Callable[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs
) -> Future[T]:
    """Start ``func(*args)`` on the long-lived loop and return at once: the
    caller does other work (a worker's database writes) while it runs, and
    waits on the future later. Never call this from the loop's own thread."""
    loop = _serving_loop() or _own_event_loop()
    return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), loop)


def close_all() -> None:
    """Close the module loop's channels, stop and close it (at process exit)."""
    global _own_loop, _own_thread
    with _own_loop_lock:
        loop, _own_loop = _own_loop, None
        thread, _own_thread = _own_thread, None
    if loop is None or thread is None or loop.is_closed():
        return
    asyncio.run_coroutine_threadsafe(close_loop_channels(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)


atexit.register(close_all)
