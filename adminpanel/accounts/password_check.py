"""Checking that a typed password is a user's current one, with a Login.

Each check is a password guess as far as an attacker is concerned, so it is
counted against the same limits as sign-ins (accounts/throttle.py): a wrong
password stays counted, a right one or an unreachable server does not.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused

from . import throttle
from .acting import Acting


@sensitive_variables("password")
def is_current(acting: Acting, name: str, password: str) -> bool:
    """Whether pymap accepts ``password`` for ``name``.

    Raises :class:`throttle.SignInThrottled` before asking pymap when the limits
    are reached, and the service's errors when pymap gives no verdict.
    """
    attempt = throttle.begin(acting.server.name, acting.client_address, name)
    try:
        service.login(acting.server, name, password=password)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH, RefusalKey.USER_NOT_FOUND):
            return False  # the attempt stays counted
        attempt.release()
        raise
    except BaseException:
        attempt.release()
        raise
    attempt.release()
    return True
