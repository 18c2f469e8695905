"""Checking a typed password with a Login that counts like a sign-in.

Each check is a password guess as far as an attacker is concerned, so it is
counted against the same limits as sign-ins (accounts/throttle.py): a wrong
password stays counted, a right one or an unreachable server does not. The
current-password checks of the user pages and the token page's own-password
Login both come here.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused

from . import throttle
from .acting import Acting


@sensitive_variables("password")
def counted_login(acting: Acting, name: str, password: str, *, field: str | None) -> str | None:
    """pymap's login token for ``name`` with ``password``; None when pymap
    refused the password (the attempt stays counted).

    Raises :class:`throttle.SignInThrottled` before asking pymap when the
    limits are reached (on the form field ``field``, where the password was
    typed), and the service's errors when pymap gives no verdict.
    """
    try:
        attempt = throttle.begin(acting.server.name, acting.client_address, name)
    except throttle.SignInThrottled as exc:
        exc.field = field
        raise
    try:
        token = service.login(acting.server, name, password=password)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH, RefusalKey.USER_NOT_FOUND):
            return None  # the attempt stays counted
        attempt.release()
        raise
    except BaseException:
        attempt.release()
        raise
    attempt.release()
    return token


@sensitive_variables("password")
def is_current(acting: Acting, name: str, password: str, *, field: str | None) -> bool:
    """Whether pymap accepts ``password`` for ``name`` (see :func:`counted_login`)."""
    return counted_login(acting, name, password, field=field) is not None
