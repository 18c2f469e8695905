"""What the service hands to the views: plain dataclasses, no gRPC.

Importing this module loads no grpclib or protobuf code, so forms, templates
and the layers above can name a user record or the admin role cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.crypto import salted_hmac

from .errors import PymapError, Refused

#: The role that lets a pymap user act on other users.
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class ServerInfo:
    pymap_version: str
    pymap_admin_version: str
    round_trip_ms: float


class Health(StrEnum):
    SERVING = "SERVING"
    NOT_SERVING = "NOT_SERVING"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class ServerStatus:
    info: ServerInfo
    health: Health
    #: Why ``health`` is UNKNOWN when the Health call itself failed.
    health_error: PymapError | None = None


@dataclass(frozen=True)
class UserRecord:
    """A user as GetUser returns it, minus the password hash.

    Only the hash's scheme is kept (``pbkdf2-sha256``), so the hash can never
    reach a template, a log or the session by accident.
    """

    name: str
    entity_tag: int
    roles: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    has_password: bool = False
    password_scheme: str | None = None
    #: A keyed digest of the stored hash (see :func:`password_fingerprint`),
    #: to tell whether the password changed between two reads.
    password_fingerprint: str = ""

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


@dataclass(frozen=True)
class AppendOutcome:
    """Where Append put a message; ``delivered`` is False when the user's sieve
    filter discarded it (the response then carries no mailbox or UID)."""

    delivered: bool
    mailbox: str = ""
    uid_validity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class AppendItem:
    """One message of :func:`append_batch`.

    ``read`` loads the message when its turn comes, so a batch holds only the
    messages in flight in memory; ``size`` (its length) is known beforehand
    for the batch's byte budget. ``key`` is the caller's name for it.
    """

    key: int
    size: int
    read: Callable[[], bytes]
    when: int | None = None
    #: Flags for this message besides the batch's own.
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppendError:
    """Why one message of a batch was not delivered, as far as is known.

    ``sent`` is True when the whole request had been handed to the connection
    before the error: unless the server answered with a refusal, it may then
    have stored the message, so the outcome is unknown.
    """

    error: PymapError
    sent: bool

    @property
    def outcome_known(self) -> bool:
        """False when the message may or may not have been stored."""
        return isinstance(self.error, Refused) or not self.sent


def password_fingerprint(stored: str) -> str:
    """A digest of a stored password hash, keyed with ``SECRET_KEY``: equal for
    equal hashes, useless for guessing the password or the hash, so it may sit
    in a signed form field. Empty when there is no password."""
    if not stored:
        return ""
    return salted_hmac("adminpanel.pymap.password-fingerprint", stored).hexdigest()[:32]


def password_scheme(stored: str) -> str | None:
    """``$pbkdf2-sha256$29000$...`` -> ``pbkdf2-sha256``; None for other forms."""
    if stored.startswith("$"):
        scheme = stored[1:].split("$", 1)[0]
        return scheme or None
    return None
