"""The user list from pymap's redis backend, read-only.

pymap 0.36.7 keeps each user as one string key, ``<users-prefix><separator>
<name>`` (``/users/alice`` by default), holding a JSON object: the params,
plus its own fields ``password`` (the hash), ``role`` (at most one), ``key``
(the token key) and ``etag`` (pymap/backend/redis/__init__.py,
``Identity._user_to_dict``). The panel reads them with two commands only:
SCAN with MATCH over that prefix (never KEYS, which blocks Redis for the
whole keyspace) and MGET of the keys one SCAN page found, after SELECT of
the URL's database. A Redis ACL user limited to those three commands is
enough (``-@all +select +scan +mget %R~/users/*``; docs/backends.md).

A page follows SCAN's own cursor, so every page costs about the same however
far the operator pages: nothing is read twice, and no page reads the whole
keyspace. SCAN's COUNT is a hint of how much work one call does, not of how
many keys it returns, and users may share the database with pymap's mail
keys; so the first call asks for a page's worth, and each later one for as
many as the share of matches so far says the rest of the page needs (twice as
many after a call that found none), until the page is full, the keyspace is
done, or :data:`MAX_EXAMINED` keys were looked at or :data:`SCAN_SECONDS`
spent (a search for a rare name then returns a short page with a "go on"
cursor instead of a page that takes seconds). A page therefore holds at
least ``size`` users unless it is the last or the budget ran out, and may
hold more: SCAN cannot resume inside one call's answer, so the panel shows
all of it rather than drop any.
"""

from __future__ import annotations

import json
import math
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, NoPermissionError, RedisError
from redis.retry import Retry

from adminpanel.pymap.store_access import UserStoreAccess

from .listing import ListedUser, Page, Search, StoreUnreadable

#: pymap's own fields in a user's JSON: not params, and never shown
#: (``password`` is the hash; ``key`` signs the user's tokens).
OWN_FIELDS = frozenset({"password", "role", "key", "etag"})
#: Most keys one page's SCAN calls may look at, and for how long: a bound on
#: a page's cost (measured: about 2.5 microseconds a key, docs/user-pages.md).
MAX_EXAMINED = 100_000
SCAN_SECONDS = 0.12
#: Smallest and largest COUNT hint of one SCAN call.
MIN_COUNT = 10
MAX_COUNT = 5_000
#: Characters that mean something in a Redis MATCH pattern.
_GLOB_SPECIAL = frozenset("*?[]\\^-")

_pools: dict[tuple[str, float], redis.ConnectionPool] = {}
_pools_lock = threading.Lock()


def read_page(
    access: UserStoreAccess, search: Search, *, after: int, size: int, timeout: float
) -> Page:
    assert access.redis_url is not None
    start = access.redis_keys_start.encode()
    client = redis.Redis(connection_pool=_pool(access.redis_url, timeout))
    try:
        keys, cursor, examined = _scan(client, match_pattern(start, search), after, size)
        values = client.mget(keys) if keys else []
    except AuthenticationError as exc:
        raise StoreUnreadable(f"{access.where} refused the panel's user name or password.") from exc
    except NoPermissionError as exc:
        raise StoreUnreadable(
            f"{access.where} does not let the panel's Redis user read the user keys "
            f"({_first_line(exc)}): it needs the SCAN and MGET commands on the keys "
            f"{access.redis_keys_start}*, and SELECT for a database other than 0."
        ) from exc
    except RedisError as exc:
        raise StoreUnreadable(f"{access.where} could not be read ({_first_line(exc)}).") from exc
    users = [
        _user(key[len(start) :], value)
        for key, value in zip(keys, values, strict=True)
        if value is not None  # deleted between SCAN and MGET
    ]
    users.sort(key=lambda user: user.name)
    return Page(
        users=tuple(users),
        next_after=cursor or None,
        in_name_order=False,
        examined=examined,
    )


def match_pattern(start: bytes, search: Search) -> bytes:
    """SCAN's MATCH: every key under the prefix whose name holds (or starts
    with) the search text, ASCII letters in either case (``[aA]``)."""
    text = "".join(_glob_char(char) for char in search.text).encode()
    if not text:
        return _glob_literal(start) + b"*"
    if search.starts_with:
        return _glob_literal(start) + text + b"*"
    return _glob_literal(start) + b"*" + text + b"*"


def _glob_char(char: str) -> str:
    if char.isascii() and char.isalpha():
        return f"[{char.lower()}{char.upper()}]"
    return "\\" + char if char in _GLOB_SPECIAL else char


def _glob_literal(text: bytes) -> bytes:
    return b"".join(
        b"\\" + bytes([byte]) if chr(byte) in _GLOB_SPECIAL else bytes([byte]) for byte in text
    )


def _scan(
    client: redis.Redis, pattern: bytes, cursor: int, size: int
) -> tuple[list[bytes], int, int]:
    """Keys from SCAN calls until a page is full, the keyspace done, or the
    budget spent: (keys, the cursor after them, keys looked at)."""
    keys: list[bytes] = []
    count, examined = size, 0
    deadline = time.monotonic() + SCAN_SECONDS
    while True:
        cursor, batch = client.scan(cursor=cursor, match=pattern, count=count)
        keys.extend(_as_bytes(key) for key in batch)
        examined += count
        spent = examined >= MAX_EXAMINED or time.monotonic() >= deadline
        if cursor == 0 or len(keys) >= size or spent:
            return list(dict.fromkeys(keys)), cursor, examined  # SCAN may repeat a key
        count = min(_next_count(count, len(batch), size - len(keys)), MAX_EXAMINED - examined)


def _next_count(count: int, found: int, wanted: int) -> int:
    """The next COUNT: as many as the last call's share of matches says the
    rest of the page needs (so a page ends near its size), twice as many
    after a call that found none."""
    if found == 0:
        return min(count * 2, MAX_COUNT)
    return max(MIN_COUNT, min(math.ceil(wanted * count / found), MAX_COUNT))


def _as_bytes(value: bytes | str) -> bytes:
    """The pool does not decode replies; the client's types allow for one that does."""
    return value if isinstance(value, bytes) else value.encode()


def _user(name: bytes, value: bytes | str) -> ListedUser:
    """pymap's ``_user_from_dict``, without what is secret."""
    shown = name.decode("utf-8", errors="replace")
    try:
        data = json.loads(value)
    except ValueError:
        return ListedUser(shown, (), (), readable=False)
    if not isinstance(data, dict):
        return ListedUser(shown, (), (), readable=False)
    role = data.get("role")
    params = sorted((str(k), str(v)) for k, v in data.items() if k not in OWN_FIELDS)
    return ListedUser(shown, (str(role),) if role is not None else (), tuple(params))


def _pool(url: str, timeout: float) -> redis.ConnectionPool:
    """One pool per store and process: pages reuse their connections."""
    with _pools_lock:
        pool = _pools.get((url, timeout))
        if pool is None:
            pool = redis.ConnectionPool.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # No CLIENT SETINFO on connect: the read-only user needs no
                # command beyond SCAN and MGET.
                driver_info=None,
                # One retry: a pooled connection that Redis closed meanwhile.
                retry=Retry(NoBackoff(), 1),
            )
            _pools[(url, timeout)] = pool
        return pool


def close_pools() -> None:
    """Close every connection (tests, and a process that stops)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.disconnect()
        _pools.clear()


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
