"""Running many rows' work at once, each through the same code the pages use.

A row's work (users/actions.py) mixes calls to pymap with database writes
(the audit record, what the panel learnt about the server). The calls are
what takes time (pymap hashes each password; its admin token waits ~300 ms a
call), so rows run in a few threads; but their database work is passed along
one *baton*: a thread holds it except while it waits for pymap's answer
(``service.set_wait_hook``), and the thread that hands out the work takes it
for its own database work (:meth:`Workers.database`). Database statements
of different threads therefore never overlap, which SQLite needs (its
in-memory test database locks whole tables), and the calls still overlap as
much as ``concurrency`` allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from types import TracebackType
from typing import Self, TypeVar

from django.db import connection

from adminpanel.pymap import service

T = TypeVar("T")
R = TypeVar("R")


class Workers:
    """Threads that run rows' work, sharing one baton for database work."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._baton = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Rows handed out were claimed (APPLYING, committed): let them run.
        self._pool.shutdown(wait=True)

    @contextmanager
    def database(self) -> Iterator[None]:
        """Hold the baton for database work outside the threads."""
        with self._baton:
            yield

    @contextmanager
    def _waiting(self) -> Iterator[None]:
        self._baton.release()
        try:
            yield
        finally:
            self._baton.acquire()

    def submit(self, work: Callable[[T], R], item: T) -> Future[R]:
        def one() -> R:
            service.set_wait_hook(self._waiting)
            self._baton.acquire()
            try:
                return work(item)
            finally:
                try:
                    connection.close()  # this thread's own connection
                finally:
                    self._baton.release()
                    service.set_wait_hook(None)

        return self._pool.submit(one)


def run_all(items: Sequence[T], work: Callable[[T], R], concurrency: int) -> list[R]:
    """``[work(item) for item in items]``, at most ``concurrency`` at a time.

    An exception from ``work`` propagates (after the others ended); callers
    catch what they expect inside ``work``.
    """
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with Workers(min(concurrency, len(items))) as workers:
        futures = [workers.submit(work, item) for item in items]
        return [future.result() for future in futures]
