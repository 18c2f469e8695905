"""The user list's types, and the one function the views call.

A page is read from the store the server's settings name (redis_store.py or
maildir_files.py); each holds a page's worth of users, never a password hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from adminpanel.pymap.store_access import StoreKind, UserStoreAccess

#: Users a page asks for (a redis page may hold a few more: see redis_store.py).
PAGE_SIZE = 50


class ListedUser(NamedTuple):
    """One user as the store keeps it: name, roles and params, nothing secret.
    (A named tuple: a maildir snapshot makes 100,000 of them at once.)"""

    name: str
    roles: tuple[str, ...]
    params: tuple[tuple[str, str], ...]
    #: False: the store holds something under this name that pymap could not read.
    readable: bool = True


@dataclass(frozen=True)
class Search:
    """A name filter: a part of the name (or its start), letters in any case."""

    text: str = ""
    starts_with: bool = False


@dataclass(frozen=True)
class Page:
    users: tuple[ListedUser, ...]
    #: Where the next page starts (a SCAN cursor or an offset); None: this is the last.
    next_after: int | None
    #: How many users match in all, where the store knows it (maildir); else None.
    total: int | None = None
    #: The whole list is in name order (maildir); redis pages are in Redis's
    #: own order, each sorted by name.
    in_name_order: bool = True
    #: redis: about how many keys SCAN looked at for this page (a search is
    #: bounded: a page may end before it is full, and say so).
    examined: int | None = None


class StoreUnreadable(Exception):
    """The store could not be read; the message says why, in words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_page(
    access: UserStoreAccess,
    search: Search,
    *,
    after: int = 0,
    size: int = PAGE_SIZE,
    timeout: float = 10.0,
) -> Page:
    """One page of the server's users from the store ``access`` names."""
    # Imported here: a panel without a store to read never loads the redis client.
    if access.kind is StoreKind.REDIS:
        from . import redis_store

        return redis_store.read_page(access, search, after=after, size=size, timeout=timeout)
    if access.kind is StoreKind.MAILDIR:
        from . import maildir_files

        return maildir_files.read_page(access, search, after=after, size=size)
    raise StoreUnreadable("The panel has no access to this server's user store.")
