"""Checking that a typed password is a user's current one, with a Login.

Each check is a password guess as far as an attacker is concerned, so it is
counted against the same limits as sign-ins (accounts/throttle.py): a wrong
password stays counted, a right one or an unreachable server does not.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from adminpanel.lib.client_address import client_address
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer

from . import throttle


@sensitive_variables("password")
def is_current(request: HttpRequest, server: PymapServer, name: str, password: str) -> bool:
    """Whether pymap accepts ``password`` for ``name``.

    Raises :class:`throttle.SignInThrottled` before asking pymap when the limits
    are reached, and the service's errors when pymap gives no verdict.
    """
    attempt = throttle.begin(server.name, client_address(request), name)
    try:
        service.login(server, name, password=password)
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
