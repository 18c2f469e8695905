"""ASGI entry point, the production one: `uvicorn adminpanel.asgi:application`.

Django does not speak the ASGI lifespan protocol, so a thin wrapper does: at
start-up it tells the gRPC service module to run calls on the server's event
loop (reusing channels across requests), and at shutdown it closes them.
Django's handler runs a request's middleware and view on one thread in one
hop (adminpanel/web/sync_chain.py). The wrapper also runs each request's
synchronous part on a reused thread, so that database connections are reused
too (see adminpanel/web/request_threads.py),
and sends a response a view asked to hold back (a refused sign-in) only after
that thread is given back (adminpanel/lib/response_floor.py).
"""

from __future__ import annotations

import asyncio
import logging
import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does first

from adminpanel.web.sync_chain import SyncChainASGIHandler  # noqa: E402

django_application = SyncChainASGIHandler()

from adminpanel.lib import response_floor  # noqa: E402
from adminpanel.pymap import channels  # noqa: E402  (needs settings loaded)
from adminpanel.web.asgi_body_guard import Receive, Scope, Send, guard_asgi_body  # noqa: E402
from adminpanel.web.request_threads import (  # noqa: E402
    DatabaseConnectionStats,
    RequestThreadPool,
    count_database_connections,
)

# Bodies over their URL's limit, or too slow, are refused before Django
# spools them to disk.
guarded_application = guard_asgi_body(django_application)
request_threads = RequestThreadPool(max_idle=settings.PANEL_IDLE_REQUEST_THREADS)
count_database_connections()

log = logging.getLogger(__name__)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        with response_floor.holding(send) as held:
            async with request_threads.serving_on_reused_thread():
                await guarded_application(scope, receive, held.send)
            await held.release()  # the thread is back in the pool: wait here
        return
    if scope["type"] != "lifespan":
        await guarded_application(scope, receive, send)
        return
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            channels.bind_event_loop(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            # Request threads first: a request still finishing may call pymap.
            await asyncio.to_thread(request_threads.close)
            channels.bind_event_loop(None)
            await channels.close_loop_channels()
            log.info("gRPC connections opened: %d", channels.ConnectionStats.opened)
            log.info(
                "Request threads started: %d; database connections opened: %d",
                request_threads.threads_started,
                DatabaseConnectionStats.opened,
            )
            await send({"type": "lifespan.shutdown.complete"})
            return
