"""Reused threads for the synchronous part of each ASGI request.

Django runs a request's synchronous code (middleware, views, the ORM) on one
thread per request. Left to itself under ASGI it starts a new thread for every
request, so every request also opens and closes its own database connection
(Django's connections are per thread); for the embedded SQLite that is most of
what reading the session costs.

:meth:`RequestThreadPool.serving_on_reused_thread` gives each request a thread
from a pool instead, through asgiref's ``ThreadSensitiveContext(executor=...)``;
Django's own per-request context then finds ours and uses it. A pooled thread
serves one request at a time, so a database connection kept open on it
(``CONN_MAX_AGE``) is never used by two requests at once.

Taking a thread never waits: when every pooled thread is busy a new one is
made, as Django would. A thread goes back to the pool only once it is free (a
cancelled request's view may still be running on it). At most ``max_idle``
idle threads are kept, and none idle for longer than ``idle_seconds``; the
others close their database connections and end.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.db import connections
from django.db.backends.signals import connection_created


class DatabaseConnectionStats:
    """How many database connections this process opened (tests, benchmark);
    with a PostgreSQL pool, how many times one was taken from it."""

    opened = 0
    _lock = threading.Lock()


def _count_connection(sender: Any, **kwargs: Any) -> None:
    with DatabaseConnectionStats._lock:
        DatabaseConnectionStats.opened += 1


def count_database_connections() -> None:
    connection_created.connect(_count_connection, dispatch_uid="panel-count-connections")


def _nothing() -> None:
    pass


def _retire(executor: ThreadPoolExecutor) -> Future[None]:
    """End ``executor``'s thread after the work queued on it; its connections
    belong to that thread, so they are closed there."""
    try:
        closed = executor.submit(connections.close_all)
    except RuntimeError:  # already shut down: its connections were closed then
        closed = Future()
        closed.set_result(None)
    executor.shutdown(wait=False)
    return closed


class RequestThreadPool:
    """Single-thread executors; the most recently used is taken first (its
    database connection is warm), the least recently used ends first."""

    def __init__(self, max_idle: int, idle_seconds: float = 300.0) -> None:
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self.threads_started = 0
        self._lock = threading.Lock()
        #: (idle since, executor), oldest first.
        self._idle: list[tuple[float, ThreadPoolExecutor]] = []
        self._live: set[ThreadPoolExecutor] = set()
        self._closed = False

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()[1]
            self.threads_started += 1
            executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"panel-request-{self.threads_started}"
            )
            self._live.add(executor)
            return executor

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        """Return ``executor`` to the pool once the work queued on it is done."""
        try:
            free = executor.submit(_nothing)
        except RuntimeError:  # shut down by close()
            return
        free.add_done_callback(lambda _: self._now_idle(executor))

    def _now_idle(self, executor: ThreadPoolExecutor) -> None:
        now = time.monotonic()
        ending = []
        with self._lock:
            if self._closed:  # handed back after close(): it ends too
                ending.append(executor)
            else:
                self._idle.append((now, executor))
                while self._idle and (
                    len(self._idle) > self.max_idle or now - self._idle[0][0] > self.idle_seconds
                ):
                    ending.append(self._idle.pop(0)[1])
            self._live.difference_update(ending)
        for old in ending:
            _retire(old)

    def close(self, timeout: float = 10.0) -> None:
        """End every thread, after the work queued on it (at shutdown)."""
        with self._lock:
            self._closed = True
            executors, self._live, self._idle = list(self._live), set(), []
        concurrent.futures.wait([_retire(e) for e in executors], timeout=timeout)

    @asynccontextmanager
    async def serving_on_reused_thread(self) -> AsyncIterator[None]:
        """Run the thread-sensitive work inside this block on a pooled thread."""
        executor = self.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                yield
        finally:
            self.give_back(executor)
