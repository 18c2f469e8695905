"""Request threads: reused across requests, one per request at a time, and
with them the database connection each keeps open."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync, sync_to_async

from adminpanel.web.request_threads import RequestThreadPool
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_requests_one_after_another_reuse_one_thread() -> None:
    pool = RequestThreadPool(max_idle=4)

    async def requests() -> list[int]:
        seen = []
        for _ in range(5):
            async with pool.serving_on_reused_thread():
                seen.append(await sync_to_async(threading.get_ident)())
                seen.append(await sync_to_async(threading.get_ident)())
            await _until(lambda: pool.idle == 1)  # the thread is back in the pool
        return seen

    try:
        seen = asyncio.run(requests())
    finally:
        pool.close()
    assert len(set(seen)) == 1
    assert seen[0] != threading.get_ident()
    assert pool.threads_started == 1


def test_sync_code_under_async_code_under_sync_code_stays_on_the_request_thread() -> None:
    """Django's shape: sync middleware -> async handler -> sync view."""
    pool = RequestThreadPool(max_idle=4)

    def middleware() -> tuple[int, int]:
        async def handler() -> int:
            return await sync_to_async(threading.get_ident)()

        return threading.get_ident(), async_to_sync(handler)()

    async def request() -> tuple[int, int]:
        async with pool.serving_on_reused_thread():
            return await sync_to_async(middleware)()

    try:
        outer, inner = asyncio.run(request())
    finally:
        pool.close()
    assert outer == inner


def test_concurrent_requests_get_threads_of_their_own_and_idle_ones_beyond_the_limit_end() -> None:
    pool = RequestThreadPool(max_idle=1)

    async def requests() -> list[threading.Thread]:
        together = asyncio.Barrier(3)

        async def request() -> threading.Thread:
            async with pool.serving_on_reused_thread():
                thread = await sync_to_async(threading.current_thread)()
                await together.wait()  # all three in flight at once
                return thread

        threads = list(await asyncio.gather(request(), request(), request()))
        await _until(lambda: sum(t.is_alive() for t in threads) == 1)  # the one kept idle
        return threads

    threads = asyncio.run(requests())
    assert len({t.ident for t in threads}) == 3
    assert pool.threads_started == 3
    assert pool.idle == 1
    pool.close()
    assert not any(t.is_alive() for t in threads)


def test_threads_idle_for_too_long_end_when_another_comes_back() -> None:
    pool = RequestThreadPool(max_idle=4, idle_seconds=0.2)

    async def requests() -> tuple[threading.Thread, threading.Thread]:
        together = asyncio.Barrier(2)

        async def request() -> threading.Thread:
            async with pool.serving_on_reused_thread():
                thread = await sync_to_async(threading.current_thread)()
                await together.wait()
                return thread

        first, second = await asyncio.gather(request(), request())
        await _until(lambda: pool.idle == 2)
        await asyncio.sleep(0.3)  # both idle for longer than idle_seconds
        async with pool.serving_on_reused_thread():  # takes the most recently used
            now = await sync_to_async(threading.current_thread)()
        await _until(lambda: pool.idle == 1)  # the other one ended
        return now, first if now is second else second

    try:
        used, left_idle = asyncio.run(requests())
        left_idle.join(timeout=5)
        assert not left_idle.is_alive()
        assert used.is_alive()
    finally:
        pool.close()


def test_a_thread_still_running_a_cancelled_request_is_not_handed_to_the_next() -> None:
    pool = RequestThreadPool(max_idle=4)
    release = threading.Event()

    async def requests() -> tuple[int, int]:
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def slow_view() -> int:
            loop.call_soon_threadsafe(started.set)
            release.wait(timeout=10)
            return threading.get_ident()

        async def cancelled_request() -> None:
            async with pool.serving_on_reused_thread():
                await sync_to_async(slow_view)()

        task = asyncio.create_task(cancelled_request())
        await started.wait()
        task.cancel()  # the client went away; the view's thread runs on
        await asyncio.gather(task, return_exceptions=True)
        slow_thread = pool.threads_started
        async with pool.serving_on_reused_thread():
            # Does not wait behind the slow view: another thread serves it.
            await asyncio.wait_for(sync_to_async(threading.get_ident)(), timeout=2)
        release.set()
        return slow_thread, pool.threads_started

    try:
        before, after = asyncio.run(requests())
    finally:
        release.set()
        pool.close()
    assert (before, after) == (1, 2)


def test_threads_busy_at_close_or_taken_after_it_end() -> None:
    pool = RequestThreadPool(max_idle=4)

    async def request(during: Callable[[], None] | None = None) -> threading.Thread:
        async with pool.serving_on_reused_thread():
            thread = await sync_to_async(threading.current_thread)()
            if during is not None:
                await asyncio.to_thread(during)
        return thread

    busy_at_close = asyncio.run(request(lambda: pool.close(0)))
    taken_after = asyncio.run(request())
    for thread in (busy_at_close, taken_after):
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert pool.idle == 0


def test_the_panel_reuses_threads_and_database_connections_across_requests(
    pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("threads")
    with PanelProcess(pymap.socket_path) as panel:
        client = PanelClient(panel.url)
        assert client.sign_in(user.name, user.password).status == 302
        for _ in range(30):
            page = client.get(f"/users/user/?name={user.name}")
            assert page.status == 200
    found = re.search(
        r"Request threads started: (\d+); database connections opened: (\d+)", panel.final_log
    )
    assert found is not None, panel.final_log
    threads, connections = int(found[1]), int(found[2])
    # 32 requests, each reading the session. A request's clean-up runs after
    # its response is sent, so the next one may start before its thread is
    # free and take another: a few threads alternate, never one per request.
    assert 1 <= threads <= 3
    assert 1 <= connections <= threads
