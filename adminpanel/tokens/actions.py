"""Issuing a token: one Login, the caveats added on the panel's side, the audit record.

The token itself is returned to the view that shows it once and is never
stored, logged or audited; the audit record says who issued a token for
whom, its identifier, expiry and caveats (docs/tokens.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts import password_check, throttle
from adminpanel.accounts.acting import Acting
from adminpanel.audit.record import OK, THROTTLED, Action, record
from adminpanel.lib.refusal import Refusal
from adminpanel.pymap import service
from adminpanel.pymap.cli_commands import expiry_caveat
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.tokens import AUTHZID_CAVEAT, add_caveats, read_token
from adminpanel.users import records


class IssueRefused(Refusal):
    """Nothing was issued; ``message`` is for the form, ``field`` the field at fault."""


@dataclass(frozen=True)
class Issued:
    user: str
    expires_at: datetime
    #: The caveats the panel added (the expiry first).
    caveats: tuple[str, ...]
    identifier: str
    act_as: str | None
    token: str = field(repr=False)

    @property
    def act_as_or_user(self) -> str:
        """The user the token can act on."""
        return self.act_as or self.user


def _audit_detail(identifier: str, expires_at: datetime, caveats: tuple[str, ...]) -> str:
    return f"identifier={identifier!r} expires={expires_at.isoformat()} caveats={list(caveats)!r}"


@sensitive_variables("password", "token")
def _login_with_password(acting: Acting, name: str, password: str) -> str:
    """Login with the operator's password, counted like a sign-in."""
    token = password_check.counted_login(acting, name, password, field="password")
    if token is None:
        raise IssueRefused(
            "This is not your current password. No token was issued.", field="password"
        )
    return token


def _login_for(acting: Acting, name: str) -> str:
    """Login for ``name`` with the session's token (it must may act on ``name``).

    dict issues a token even for a user that does not exist (maildir and
    redis answer UserNotFound), so the name is looked up first everywhere.
    """
    if not records.exists(acting.server, acting.operator, name):
        raise IssueRefused(
            f"The mail server has no user named {name!r}: no token was issued.",
            field="user",
            status=404,
        )
    try:
        return service.login(acting.server, name, token=acting.operator.token)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            raise IssueRefused(
                f"The mail server has no user named {name!r}: no token was issued.",
                field="user",
                status=404,
            ) from exc
        raise


@sensitive_variables("password", "token", "narrowed")
def issue_token(
    acting: Acting,
    user: str,
    *,
    password: str | None,
    lifetime_seconds: int,
    act_as: str | None,
) -> Issued:
    """A new login token for ``user`` that expires after ``lifetime_seconds``.

    With ``password``: the operator's own (``user`` is the operator). Without:
    the session's token asks for ``user``'s (pymap refuses, AuthorizationFailure,
    unless it may act on that user). Raises :class:`IssueRefused`,
    ``throttle.SignInThrottled`` and pymap's errors, each audited.
    """
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lifetime_seconds)
    caveats = (expiry_caveat(expires_at),) + ((f"{AUTHZID_CAVEAT}{act_as}",) if act_as else ())
    planned = f"expires={expires_at.isoformat()} caveats={list(caveats)!r}"
    try:
        if password is not None:
            token = _login_with_password(acting, user, password)
        else:
            token = _login_for(acting, user)
    except IssueRefused as exc:
        outcome = RefusalKey.USER_NOT_FOUND if exc.status == 404 else RefusalKey.INVALID_AUTH
        record(acting, Action.TOKEN_ISSUE, target=user, outcome=outcome, detail=planned)
        raise
    except PymapError as exc:
        record(acting, Action.TOKEN_ISSUE, target=user, outcome=exc.outcome, detail=planned)
        raise
    except throttle.SignInThrottled:
        record(acting, Action.TOKEN_ISSUE, target=user, outcome=THROTTLED, detail=planned)
        raise
    narrowed = add_caveats(token, list(caveats))
    identifier = read_token(narrowed).identifier
    record(
        acting,
        Action.TOKEN_ISSUE,
        target=user,
        outcome=OK,
        detail=_audit_detail(identifier, expires_at, caveats),
    )
    return Issued(user, expires_at, caveats, identifier, act_as, narrowed)
