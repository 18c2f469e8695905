"""Reading a user's record as it is stored, whatever the backend.

GetUser does not always answer with the user's own record: on maildir the
caller's roles are merged in, so with pymap's admin token every user reads as
``admin`` (PYMAP.md), and writing such a record back makes the user an admin.
Where that happens the record is read again with a login token of the user
(``servers.issued_tokens``), which has no roles to merge. Every answer also
teaches the panel which backend the server runs (``servers.knowledge``).
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.session import Operator
from adminpanel.pymap import backends, service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.results import UserRecord
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import issued_tokens, knowledge


def token_carries_roles(operator: Operator) -> bool:
    """Whether the session's token brings roles of its own to every call: only
    pymap's admin token does (``role = admin``); login tokens carry none."""
    return operator.name is None


@sensitive_variables("token")
def read(server: PymapServer, operator: Operator, name: str) -> UserRecord:
    """The user's own record. Raises ``Refused`` (UserNotFound,
    AuthorizationFailure...) and the transport errors as GetUser does."""
    caps = knowledge.capabilities(server)
    if not (caps.merges_caller_roles and caps.known and token_carries_roles(operator)):
        record = service.get_user(server, operator.token, name)
        if _get_is_own(learn_from(server, record), operator):
            return record
    # Straight to the user's own token once the backend is known to merge:
    # GetUser with the admin token costs ~300 ms and says nothing more.
    # Only pymap's admin token gets here; it may act on every user.
    token = issued_tokens.for_user(server, caps, operator.token, name, reuse=True)
    try:
        return service.get_user(server, token, name)
    except Refused as exc:
        if not exc.is_(RefusalKey.INVALID_AUTH):
            raise
    # The kept token died (the user was deleted, perhaps made again): a new one.
    try:
        token = issued_tokens.for_user(server, caps, operator.token, name, reuse=True, fresh=True)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            issued_tokens.forget(server, name)
        raise
    return service.get_user(server, token, name)


def read_once_is_own(server: PymapServer, operator: Operator) -> bool:
    """Whether one GetUser with the session's token answers with the user's own
    record (as :func:`read` would return it), so that many users can be read
    at once (``service.UserReads``, then :func:`learn_from` each record): yes
    for a login token, or where no candidate backend merges the caller's roles."""
    return _get_is_own(knowledge.capabilities(server), operator)


def _get_is_own(caps: backends.Capabilities, operator: Operator) -> bool:
    return not (caps.merges_caller_roles and token_carries_roles(operator))


def learn_from(server: PymapServer, record: UserRecord) -> backends.Capabilities:
    """What a record tells of the backend; the capabilities that follow."""
    return knowledge.learn(server, backends.from_record(record.entity_tag, record.params))


def exists(server: PymapServer, operator: Operator, name: str) -> bool:
    """Whether the server has a user of that name (a plain GetUser: merged
    roles do not matter here)."""
    try:
        record = service.get_user(server, operator.token, name)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            return False
        raise
    learn_from(server, record)
    return True
