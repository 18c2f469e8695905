"""Reused threads for the synchronous part of each ASGI request.

Django runs a request's synchronous code (middleware, views, the ORM) on one
thread per request. Left to itself under ASGI it starts a new thread for every
request, so every request also opens and closes its own database connection
(Django's connections are per thread); for the embedded SQLite that is most of
what reading the session costs.

:func:`serving_on_reused_thread` gives each request a thread from a pool
instead, through asgiref's ``ThreadSensitiveContext(executor=...)``; Django's
own per-request context then finds ours and uses it. A pooled thread serves
one request at a time, so a database connection kept open on it
(``CONN_MAX_AGE``) is never used by two requests at once.

Taking a thread never waits: when every pooled thread is busy a new one is
made, as Django would. At most ``PANEL_IDLE_REQUEST_THREADS`` idle ones are
kept (each keeps its database connection, which bounds the connections an
instance holds when quiet); the others close their connections and end.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.db import connections
from django.db.backends.signals import connection_created


class DatabaseConnectionStats:
    """How many database connections this process opened (tests, benchmark)."""

    opened = 0


def _count_connection(sender: Any, **kwargs: Any) -> None:
    DatabaseConnectionStats.opened += 1


def count_database_connections() -> None:
    connection_created.connect(_count_connection, dispatch_uid="panel-count-connections")


def _retire(executor: ThreadPoolExecutor) -> None:
    # Connections belong to the thread that opened them: close them there.
    executor.submit(connections.close_all)
    executor.shutdown(wait=False)


class RequestThreadPool:
    """Single-thread executors, most recently used first (its connection is warm)."""

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()
        self.threads_started = 0

    def take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.threads_started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="panel-request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(executor)
                return
        _retire(executor)

    def close(self) -> None:
        """End every idle thread, closing its connections (at shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for executor in idle:
            _retire(executor)
        for executor in idle:
            executor.shutdown(wait=True)

    @asynccontextmanager
    async def serving_on_reused_thread(self) -> AsyncIterator[None]:
        """Run the thread-sensitive work inside this block on a pooled thread."""
        executor = self.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                yield
        finally:
            # A request cancelled mid-view may still run on the thread; work
            # for the next request queues behind it on the same single thread.
            self.give_back(executor)
