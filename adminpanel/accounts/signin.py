"""Turning what an operator typed into a signed-in :class:`Operator`.

Every path ends with a token that pymap has accepted at least once, narrowed
by a ``time <`` caveat to the session's absolute end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from adminpanel.lib.refusal import Refusal
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.results import ADMIN_ROLE
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import MalformedToken, attenuate_until, inspect_token
from adminpanel.servers import detect

from .identity import ADMIN_TOKEN, Identity, IdentityKind
from .session import Operator, absolute_expiry


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the operator, and what to tell them about their
    rights on this server (None when there is nothing to add)."""

    operator: Operator
    notice: str | None = None


class SignInRefused(Refusal):
    """Credentials not accepted; ``message`` is safe to show, ``outcome`` is the
    result key (or ``MalformedToken``) for the audit log."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.key = outcome

    @property
    def outcome(self) -> str:
        return self.key


GENERIC_FAILURE = "Sign-in failed: the user name, password or token was not accepted."
NOT_AUTHORIZED_TO_ACT = "These credentials may not act as that user (the admin role is needed)."


def _refusal_message(exc: Refused) -> str:
    if exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
        return NOT_AUTHORIZED_TO_ACT
    if exc.is_(RefusalKey.INVALID_AUTH, RefusalKey.USER_NOT_FOUND):
        return GENERIC_FAILURE
    return f"Sign-in failed: {exc.message}"


@sensitive_variables("password", "token")
def with_password(
    server: PymapServer, username: str, password: str, act_as: str | None
) -> SignedIn:
    try:
        token = service.login(server, username, password=password, authzid=act_as or None)
        return _finish(server, token, name=act_as or username, signed_in_as=username)
    except Refused as exc:
        raise SignInRefused(_refusal_message(exc), exc.key) from exc


@sensitive_variables("pasted")
def attempted_identity(method_is_token: bool, username: str, pasted: str) -> Identity:
    """Who a sign-in attempt claimed to be, for the audit log (never the secret)."""
    if not method_is_token:
        return Identity(IdentityKind.USER, username)
    try:
        info = inspect_token(pasted)
    except MalformedToken:
        return Identity(IdentityKind.MALFORMED_TOKEN)
    if info.is_admin_token:
        return ADMIN_TOKEN
    return Identity(IdentityKind.LOGIN_TOKEN, info.authcid or "")


@sensitive_variables("pasted")
def claimed_user(method_is_token: bool, username: str, pasted: str) -> str | None:
    """The user name an attempt is counted against by the throttle: the one
    typed, or the user a pasted login token claims (None for the admin token
    or a malformed one, which count per address only)."""
    if not method_is_token:
        return username or None
    try:
        return inspect_token(pasted).authcid
    except MalformedToken:
        return None


@sensitive_variables("pasted", "token")
def with_token(server: PymapServer, pasted: str, act_as: str | None) -> SignedIn:
    try:
        info = inspect_token(pasted)
    except MalformedToken as exc:
        raise SignInRefused(GENERIC_FAILURE, "MalformedToken") from exc
    token = pasted.strip()
    # The admin token is a flag, never a name: any text can be a user's name.
    holder = None if info.is_admin_token else info.authcid
    try:
        if act_as:
            # pymap issues a login token for act_as if the pasted token may act
            # as that user; the session then carries act_as's own rights.
            token = service.login(server, act_as, token=token)
            return _finish(
                server, token, name=act_as, signed_in_as=holder, admin_token=info.is_admin_token
            )
        if info.is_admin_token:
            return _finish(server, token, name=None, signed_in_as=None, admin_token=True)
        return _finish(server, token, name=info.authzid or info.authcid, signed_in_as=info.authcid)
    except Refused as exc:
        raise SignInRefused(_refusal_message(exc), exc.key) from exc


ROLE_WITHOUT_RIGHTS = (
    "You have the admin role, but this server ({backend}) lets only its admin token act "
    "on other users, so you are signed in with your own rights: your own account and "
    "password. Sign in with the admin token to manage other users."
)


@sensitive_variables("token", "narrowed")
def _finish(
    server: PymapServer,
    token: str,
    *,
    name: str | None,
    signed_in_as: str | None,
    admin_token: bool = False,
) -> SignedIn:
    """Narrow the token to the session's end, ask the server what it may do,
    and learn the server's backend from what the sign-in saw."""
    now = time.time()
    expires = absolute_expiry(now)
    narrowed = attenuate_until(token, expires)
    # The server's own answer, which also proves that the narrowed token
    # works: the roles GetUser reports do not say it (PYMAP.md).
    may_act_on_others = service.may_act_on_others(server, narrowed)
    notice = None
    if name is None:
        detect.from_admin_token(server, narrowed)
    else:
        own = service.get_user(server, narrowed, name)
        caps = detect.from_own_sign_in(server, narrowed, own)
        if ADMIN_ROLE in own.roles and not may_act_on_others:
            notice = ROLE_WITHOUT_RIGHTS.format(backend=caps.label)
    operator = Operator(
        token=narrowed,
        name=name,
        is_admin=may_act_on_others,
        server=server.name,
        signed_in_at=now,
        expires_at=expires.timestamp(),
        last_seen=now,
        signed_in_as=signed_in_as if signed_in_as != name else None,
        admin_token=admin_token,
    )
    return SignedIn(operator, notice)
