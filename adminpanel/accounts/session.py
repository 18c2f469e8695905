"""The signed-in operators, as kept in the server-side session: one per
pymap server, each under :func:`operator_key` (an operator signs in to each
server separately; signing out ends them all).

The macaroon never leaves the session store, and is sealed in it (see
:mod:`adminpanel.lib.sealing`): whoever reads the database reads no usable token.
Templates get an :class:`Operator` whose ``token`` is excluded from its repr,
and the cookie holds only Django's random session key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import rotate_token

from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

from .identity import Identity, IdentityKind

#: Each server's operator is kept under this prefix and the server's name.
SESSION_KEY = "operator:"


def operator_key(server: str) -> str:
    return SESSION_KEY + server


def stored_operators(data: Mapping[str, object]) -> dict[str, object]:
    """The stored operators of a session's data, by server name."""
    return {k[len(SESSION_KEY) :]: v for k, v in data.items() if k.startswith(SESSION_KEY)}


#: last_seen is written back at most this often, so that a page view does not
#: cost a session write every time...
ACTIVITY_GRANULARITY_SECONDS = 60


def activity_granularity() -> float:
    """...and at least every tenth of the idle limit, so that a short limit
    cannot sign out an operator who is active (a request every 50 s against a
    one-minute limit)."""
    idle: int = settings.PANEL_SESSION_IDLE_SECONDS
    return min(ACTIVITY_GRANULARITY_SECONDS, idle / 10)


@dataclass(frozen=True)
class Operator:
    """Who is signed in and with what rights.

    ``name`` is the pymap user whose rights the token carries (None for the
    server's admin token); ``signed_in_as`` is the user who authenticated
    when it differs (sign-in with "act as"), and ``admin_token`` says that the
    server's admin token did (alone, or acting as ``name``). ``is_admin`` is
    whether the server lets the token act on other users (its own answer, see
    ``service.may_act_on_others``): the admin token, or the admin role where the
    backend honours it.
    """

    token: str = field(repr=False)
    name: str | None
    is_admin: bool
    server: str
    signed_in_at: float
    expires_at: float
    last_seen: float
    signed_in_as: str | None = None
    admin_token: bool = False
    #: When pymap last confirmed ``is_admin`` (see rights_check.py).
    powers_checked_at: float = 0.0

    @property
    def identity(self) -> Identity:
        """Who authenticated and as whom they act, for the audit log and for
        every rule about who sees what."""
        if self.admin_token or self.name is None:
            return Identity(IdentityKind.ADMIN_TOKEN, "", self.name or "")
        if self.signed_in_as is not None and self.signed_in_as != self.name:
            return Identity(IdentityKind.USER, self.signed_in_as, self.name)
        return Identity(IdentityKind.USER, self.name)

    @property
    def label(self) -> str:
        """How the header names this identity."""
        return self.identity.label

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)


def absolute_expiry(now: float) -> datetime:
    return datetime.fromtimestamp(now + settings.PANEL_SESSION_ABSOLUTE_SECONDS, UTC)


#: The stored form's name for the sealed token (base64 text: sessions are JSON).
SEALED_TOKEN = "sealed_token"  # noqa: S105  (a key name, not a secret)


def to_stored(operator: Operator) -> dict[str, Any]:
    """What the session keeps: the operator's fields, the token sealed."""
    stored = asdict(operator)
    token = stored.pop("token")
    stored[SEALED_TOKEN] = base64.b64encode(seal(token, Purpose.SESSION)).decode("ascii")
    return stored


def from_stored(data: object) -> Operator | None:
    """The operator of a stored session; None if there is none, if it was
    written by an older panel version, or if its token cannot be opened
    (``SECRET_KEY`` changed): that session is over."""
    if not isinstance(data, Mapping):
        return None
    fields = dict(data)
    sealed = fields.pop(SEALED_TOKEN, None)
    if not isinstance(sealed, str):
        return None
    try:
        token = unseal(base64.b64decode(sealed, validate=True), Purpose.SESSION)
        return Operator(token=token, **fields)
    except (UnsealError, binascii.Error, TypeError):
        return None


def store(request: HttpRequest, operator: Operator) -> None:
    request.session[operator_key(operator.server)] = to_stored(operator)


def start(request: HttpRequest, operator: Operator) -> None:
    """Sign in: a new session key and CSRF token (no fixation of either), then
    store the operator."""
    request.session.cycle_key()
    rotate_token(request)
    # Signing in has just established the admin flag.
    store(request, replace(operator, powers_checked_at=operator.signed_in_at))


def load(request: HttpRequest, server: str) -> Operator | None:
    """The operator signed in to ``server`` in this session, if any."""
    operator = from_stored(request.session.get(operator_key(server)))
    return operator if operator is not None and operator.server == server else None


def load_all(request: HttpRequest) -> dict[str, Operator]:
    """Every server this session is signed in to, and its operator."""
    loaded = {name: from_stored(data) for name, data in stored_operators(request.session).items()}
    return {name: op for name, op in loaded.items() if op is not None and op.server == name}


def drop(request: HttpRequest, server: str) -> None:
    """End the sign-in to one server; the session ends with its last one."""
    request.session.pop(operator_key(server), None)
    if not stored_operators(request.session):
        request.session.flush()


def touch(request: HttpRequest, operator: Operator, now: float) -> Operator:
    """The operator with this request as its last activity (written back
    only every :func:`activity_granularity` seconds)."""
    if now - operator.last_seen < activity_granularity():
        return operator
    touched = replace(operator, last_seen=now)
    store(request, touched)
    return touched


def keep_alive(request: HttpRequest, operator: Operator, now: float) -> Operator:
    """The operator with this request as its last activity, written back now
    (the idle warning's "Stay signed in" counts from this moment)."""
    touched = replace(operator, last_seen=now)
    store(request, touched)
    return touched
