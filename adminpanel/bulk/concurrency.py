"""Running many rows' work at once, each through the same code the pages use.

A row's work (users/actions.py) mixes calls to pymap with database writes
(the audit record, what the panel learnt about the server). The calls are
what takes time (pymap hashes each password; its admin token waits ~300 ms a
call), so rows run in a few threads; but their database work is passed along
one *baton*: a thread holds it except while it waits for pymap's answer
(``service.set_wait_hook``). Database statements of different rows therefore
never overlap, which SQLite needs (its in-memory test database locks whole
tables), and the calls still overlap as much as ``concurrency`` allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection

from adminpanel.pymap import service

T = TypeVar("T")
R = TypeVar("R")


def run_all(items: Sequence[T], work: Callable[[T], R], concurrency: int) -> list[R]:
    """``[work(item) for item in items]``, at most ``concurrency`` at a time.

    An exception from ``work`` propagates (after the others ended); callers
    catch what they expect inside ``work``.
    """
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    baton = threading.Lock()

    @contextmanager
    def waiting() -> Iterator[None]:
        baton.release()
        try:
            yield
        finally:
            baton.acquire()

    def one(item: T) -> R:
        service.set_wait_hook(waiting)
        baton.acquire()
        try:
            return work(item)
        finally:
            try:
                connection.close()  # this thread's own connection
            finally:
                baton.release()
                service.set_wait_hook(None)

    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(one, items))
