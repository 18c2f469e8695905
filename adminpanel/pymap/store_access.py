"""Read access to a server's own user store, for the full user list.

pymap's admin API has no call that lists users, so the panel can list them
only where the operator lets it read the backend's store itself
(adminpanel/directory/ does the reading; it is not gRPC):

* redis: a connection URL for a Redis user that may only read (a Redis ACL
  user), and pymap's ``--users-prefix`` and ``--separator``, so that the
  panel finds the keys pymap writes (``<prefix><separator><name>``);
* maildir: the directory that holds ``pymap-etc-passwd`` and
  ``pymap-etc-group`` (pymap's base directory, shared read-only).

The dict backend keeps its users in pymap's memory: there is nothing to read.
This module imports nothing heavy; the settings and the servers file build it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

#: pymap's own defaults for ``redis --users-prefix`` and ``--separator``.
DEFAULT_REDIS_USERS_PREFIX = "/users"
DEFAULT_REDIS_SEPARATOR = "/"
REDIS_SCHEMES = ("redis", "rediss", "unix")


class StoreKind(StrEnum):
    REDIS = "redis"
    MAILDIR = "maildir"


@dataclass(frozen=True)
class UserStoreAccess:
    """Where the panel may read the server's users, if anywhere."""

    #: ``redis://user:password@host:port/db``; never shown (it may hold a password).
    redis_url: str | None = field(default=None, repr=False)
    redis_users_prefix: str = DEFAULT_REDIS_USERS_PREFIX
    redis_separator: str = DEFAULT_REDIS_SEPARATOR
    #: pymap's maildir base directory (``pymap ... maildir DIR``).
    maildir_path: str | None = None

    @property
    def kind(self) -> StoreKind | None:
        """Which store is configured; None: the panel may read none."""
        if self.redis_url:
            return StoreKind.REDIS
        if self.maildir_path:
            return StoreKind.MAILDIR
        return None

    @property
    def redis_keys_start(self) -> str:
        """What every user key starts with: ``/users/`` by pymap's defaults."""
        return self.redis_users_prefix + self.redis_separator

    @property
    def where(self) -> str:
        """The store in words, without any password: ``redis 127.0.0.1:6379/13``."""
        if self.kind is StoreKind.REDIS and self.redis_url:
            parts = urlsplit(self.redis_url)
            if parts.scheme == "unix":
                return f"redis at {parts.path}"
            database = parts.path.strip("/") or "0"
            return f"redis at {parts.hostname or 'localhost'}:{parts.port or 6379}/{database}"
        if self.kind is StoreKind.MAILDIR:
            return f"the maildir files in {self.maildir_path}"
        return "nothing"


def user_store_access(
    *,
    redis_url: str | None = None,
    redis_users_prefix: str | None = None,
    redis_separator: str | None = None,
    maildir_path: str | None = None,
) -> UserStoreAccess:
    """Check the settings of one server; ValueError says what is wrong."""
    if redis_url and maildir_path:
        raise ValueError(
            "give either a redis URL or a maildir path, not both: a server has one store"
        )
    if redis_url:
        scheme = urlsplit(redis_url).scheme
        if scheme not in REDIS_SCHEMES:
            raise ValueError(
                f"the redis URL must start with {', '.join(s + '://' for s in REDIS_SCHEMES)}"
                f" (it starts with {scheme + '://' if scheme else 'no scheme'})"
            )
    return UserStoreAccess(
        redis_url=redis_url or None,
        redis_users_prefix=redis_users_prefix or DEFAULT_REDIS_USERS_PREFIX,
        redis_separator=redis_separator or DEFAULT_REDIS_SEPARATOR,
        maildir_path=maildir_path or None,
    )
