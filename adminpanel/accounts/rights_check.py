"""Re-checking with pymap what the signed-in identity may do.

A session keeps the admin flag it got at sign-in, but pymap may since have
taken the role away or deleted the user. The panel therefore asks the server
again (:func:`adminpanel.pymap.service.may_act_on_others`, a GetUser of the
empty name: a few ms with a login token):

* at least every :data:`RECHECK_SECONDS`, on any page;
* before every page that shows or changes other operators' data (views
  marked with :func:`~adminpanel.accounts.middleware.others_data_view`),
  when the session holds the admin flag: there, losing it must count at once.

The one exception is the server's admin token on its own: every call with it
costs about 300 ms, and its rights come from the server's key, not from a
role anyone can take away; the check every minute still ends the session
once the server stops accepting it (a restart with a new key).

A token the server no longer accepts (InvalidAuth: the user was deleted, or
its tokens revoked) ends the session.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from django.contrib import messages
from django.http import HttpRequest

from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.servers import current

from . import session
from .session import Operator

log = logging.getLogger(__name__)

#: The longest a session goes without asking pymap what it may do.
RECHECK_SECONDS = 60

ROLE_LOST = (
    "The mail server no longer lets you act on other users (the admin role was "
    "removed): the panel now shows you only your own account and actions."
)
ROLE_GAINED = "The mail server now lets you act on other users (the admin role)."
NOT_CONFIRMED = (
    "The mail server could not confirm that you may act on other users ({reason}), "
    "so this page shows only what is your own."
)


def _needs_asking(operator: Operator, *, others_data: bool) -> bool:
    """Whether this page must ask before it shows anything: only a session
    holding the flag can show too much, and the admin token alone has no role
    to lose (see the module's docstring)."""
    return others_data and operator.is_admin and operator.name is not None


def confirm(
    request: HttpRequest, operator: Operator, now: float, *, others_data: bool
) -> Operator | None:
    """The operator with the admin flag pymap gives it now; None when pymap
    no longer accepts its token (the session must end).

    When the server cannot answer, a page of other operators' data is shown
    without the flag (fail closed, with a message), and any other page keeps
    it: that page's own calls to pymap will fail and say so.
    """
    periodic = now - operator.powers_checked_at >= RECHECK_SECONDS
    if not periodic and not _needs_asking(operator, others_data=others_data):
        return operator
    try:
        may_act = service.may_act_on_others(current.for_request(request), operator.token)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH):
            return None
        failure: PymapError = exc
    except PymapError as exc:
        failure = exc
    else:
        if may_act != operator.is_admin:
            log.info("%r: may act on others: %s", operator.label, may_act)
            messages.warning(request, ROLE_GAINED if may_act else ROLE_LOST)
        checked = replace(operator, is_admin=may_act, powers_checked_at=now)
        if periodic or may_act != operator.is_admin:
            # Otherwise nothing changed: a page view costs no session write.
            session.store(request, checked)
        return checked
    if others_data and operator.is_admin:
        messages.warning(request, NOT_CONFIRMED.format(reason=failure.message.rstrip(".")))
        return replace(operator, is_admin=False)  # for this request only
    return operator
