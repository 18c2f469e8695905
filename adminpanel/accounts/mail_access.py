"""The operator's own password for a user's mail and filters, sudo-mode style.

IMAP and ManageSieve take only PLAIN and LOGIN (no tokens), so reading a
user's mailboxes or filters needs the operator's own password, never the
user's. It is asked for once, checked against pymap (a Login, counted like a
sign-in: accounts/password_check.py), and kept in the session sealed
(lib/sealing.py, Purpose.MAIL_ACCESS) for PANEL_MAIL_ACCESS_SECONDS. It is
never stored unsealed, never in a URL or log, and goes with the session.

Only a password sign-in can give it: the admin token and login tokens have no
password to give, and a session that acts as another user would lend the
signed-in user's password to that user's rights.
"""

from __future__ import annotations

import base64
import binascii
import time

from django.conf import settings
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from adminpanel.lib.mail_credentials import MailCredentials
from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

from .identity import IdentityKind
from .session import Operator

SESSION_KEY = "mail-access:"
__all__ = ["MailCredentials", "close", "current", "keep", "seconds", "why_unavailable", "window"]


def why_unavailable(operator: Operator) -> str | None:
    """Why this session cannot open mail access at all (None: it can)."""
    identity = operator.identity
    if identity.kind == IdentityKind.ADMIN_TOKEN:
        return (
            "You are signed in with the server's admin token. IMAP and ManageSieve accept "
            "only a user name and password (PLAIN or LOGIN), never a token, so reading a "
            "user's mail or filters needs a sign-in with your own pymap user and password."
        )
    if identity.act_as:
        return (
            f"You are signed in as {identity.name} acting as {identity.act_as}. Mail access "
            "authenticates with your own password, which would carry your rights rather than "
            "the ones this session acts with: sign in without 'act as' to use it."
        )
    return None


def seconds() -> int:
    value: int = settings.PANEL_MAIL_ACCESS_SECONDS
    return value


@sensitive_variables("password")
def window(operator: Operator, password: str) -> MailCredentials:
    """The (already checked) password with the end of its window."""
    assert operator.name is not None
    return MailCredentials(operator.name, password, time.time() + seconds())


def keep(request: HttpRequest, operator: Operator, credentials: MailCredentials) -> None:
    """Keep the window's credentials in the session, the password sealed."""
    request.session[SESSION_KEY + operator.server] = {
        "authcid": credentials.authcid,
        "expires_at": credentials.expires_at,
        "sealed": base64.b64encode(seal(credentials.password, Purpose.MAIL_ACCESS)).decode("ascii"),
    }


def current(request: HttpRequest, operator: Operator) -> MailCredentials | None:
    """The open window's credentials for this operator, or None (none, ended,
    another operator's, or unreadable: it is then dropped)."""
    key = SESSION_KEY + operator.server
    stored = request.session.get(key)
    if not isinstance(stored, dict) or why_unavailable(operator) is not None:
        return None
    try:
        expires_at = float(stored["expires_at"])
        authcid = str(stored["authcid"])
        password = unseal(base64.b64decode(stored["sealed"], validate=True), Purpose.MAIL_ACCESS)
    except (KeyError, TypeError, ValueError, binascii.Error, UnsealError):
        request.session.pop(key, None)
        return None
    if expires_at <= time.time() or authcid != operator.name:
        request.session.pop(key, None)
        return None
    return MailCredentials(authcid, password, expires_at)


def close(request: HttpRequest, operator: Operator) -> None:
    request.session.pop(SESSION_KEY + operator.server, None)
