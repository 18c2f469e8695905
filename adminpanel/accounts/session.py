"""The signed-in operator, as kept in the server-side session.

The macaroon never leaves the session store: templates get an
:class:`Operator` whose ``token`` is excluded from its repr, and the cookie
holds only Django's random session key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import rotate_token

SESSION_KEY = "operator"
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
    server's admin token); ``signed_in_as`` is the identity that authenticated
    when it differs (sign-in with "act as").
    """

    token: str = field(repr=False)
    name: str | None
    is_admin: bool
    server: str
    signed_in_at: float
    expires_at: float
    last_seen: float
    signed_in_as: str | None = None

    @property
    def label(self) -> str:
        """How the header names this identity."""
        who = self.name if self.name is not None else "admin token"
        if self.signed_in_as is not None and self.signed_in_as != self.name:
            return f"{who} (signed in as {self.signed_in_as})"
        return who

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)


def absolute_expiry(now: float) -> datetime:
    return datetime.fromtimestamp(now + settings.PANEL_SESSION_ABSOLUTE_SECONDS, UTC)


def start(request: HttpRequest, operator: Operator) -> None:
    """Sign in: a new session key and CSRF token (no fixation of either), then
    store the operator."""
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_KEY] = asdict(operator)


def load(request: HttpRequest) -> Operator | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return Operator(**data)
    except TypeError:
        return None  # a session written by an older panel version


def replace_token(
    request: HttpRequest, operator: Operator, token: str, *, is_admin: bool | None = None
) -> Operator:
    """Store a renewed token (and, after a change of own roles, the admin flag)."""
    changes: dict[str, object] = {"token": token}
    if is_admin is not None:
        changes["is_admin"] = is_admin
    updated = Operator(**{**asdict(operator), **changes})
    request.session[SESSION_KEY] = asdict(updated)
    return updated


def touch(request: HttpRequest, operator: Operator, now: float) -> None:
    if now - operator.last_seen >= activity_granularity():
        request.session[SESSION_KEY] = {**asdict(operator), "last_seen": now}
