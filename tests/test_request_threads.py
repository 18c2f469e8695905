"""Request threads: reused across requests, one per request at a time, and
with them the database connection each keeps open."""

from __future__ import annotations

import asyncio
import re
import threading

from asgiref.sync import async_to_sync, sync_to_async

from adminpanel.request_threads import RequestThreadPool
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .conftest import MakeUser


def test_requests_one_after_another_reuse_one_thread() -> None:
    pool = RequestThreadPool(max_idle=4)

    async def requests() -> list[int]:
        seen = []
        for _ in range(5):
            async with pool.serving_on_reused_thread():
                seen.append(await sync_to_async(threading.get_ident)())
                seen.append(await sync_to_async(threading.get_ident)())
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

        return list(await asyncio.gather(request(), request(), request()))

    threads = asyncio.run(requests())
    assert len({t.ident for t in threads}) == 3
    assert pool.threads_started == 3
    for thread in threads:
        thread.join(timeout=5)
    assert sum(t.is_alive() for t in threads) == 1  # the one kept idle
    pool.close()
    assert not any(t.is_alive() for t in threads)


def test_the_panel_reuses_threads_and_database_connections_across_requests(
    pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("threads", roles=["admin"])
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
    # Over 32 requests, each reading the session: a request's clean-up may
    # overlap the next request, so two threads may alternate, never more here.
    assert 1 <= threads <= 2
    assert 1 <= connections <= threads
