"""Channel reuse: one connection serves many calls, and survives a pymap restart."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from adminpanel.pymap import channels, service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess


def test_many_calls_share_one_connection(pymap_server: PymapServer) -> None:
    service.ping(pymap_server)  # the pool may already hold this channel
    before = channels.ConnectionStats.opened
    for _ in range(25):
        service.ping(pymap_server)
        service.health(pymap_server)
    assert channels.ConnectionStats.opened == before


def test_next_call_after_a_pymap_restart_succeeds() -> None:
    with PymapProcess() as pymap:
        server = pymap.server(timeout=5)
        assert service.ping(server).pymap_version == "0.36.7"
        pymap.restart()
        # The pooled channel lost its connection; grpclib reconnects on use.
        assert service.ping(server).pymap_version == "0.36.7"


def test_asgi_lifespan_runs_calls_on_the_server_loop_and_closes_channels(
    pymap_server: PymapServer,
) -> None:
    from adminpanel.asgi import application

    async def serve() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[Mapping[str, Any]] = []

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)

        lifespan = asyncio.create_task(application({"type": "lifespan"}, inbox.get, send))
        await inbox.put({"type": "lifespan.startup"})
        while not sent:
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        # A sync view runs in a worker thread, as Django's ASGI handler does it.
        for _ in range(5):
            await sync_to_async(service.ping)(pymap_server)
        assert pymap_server in channels._pools[loop]
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan
        assert loop not in channels._pools
        assert [m["type"] for m in sent] == [
            "lifespan.startup.complete",
            "lifespan.shutdown.complete",
        ]

    # In a thread of its own: the browser tests' Playwright may own a running
    # loop in the main thread.
    failures: list[BaseException] = []

    def run_serve() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test thread)
            failures.append(exc)

    thread = threading.Thread(target=run_serve)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@pytest.fixture(autouse=True)
def _unbind_loop() -> Any:
    yield
    channels.bind_event_loop(None)


def test_a_call_from_the_loops_own_thread_is_refused_not_a_deadlock() -> None:
    async def nothing() -> None:
        return None

    async def from_the_loop() -> None:
        channels.run(nothing)

    loop = channels._own_event_loop()
    with pytest.raises(RuntimeError, match="its own event loop"):
        asyncio.run_coroutine_threadsafe(from_the_loop(), loop).result(timeout=5)
    # The loop still serves calls from other threads.
    assert channels.run(nothing) is None
