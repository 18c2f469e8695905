"""Learning which backend a server runs from what a sign-in sees anyway.

A password (or login-token) sign-in brings a login token and the operator's
own record, and both differ by backend (adminpanel/pymap/backends.py). The
admin token brings neither, so the panel asks pymap for a token for a user
that does not exist: dict issues one (in its memory only), maildir and redis
refuse it without writing anything. Telling maildir from redis then waits for
the first record the panel reads; until then it acts as cautiously as both
require. Nothing is asked once the backend is known or configured.
"""

from __future__ import annotations

import secrets

from django.views.decorators.debug import sensitive_variables

from adminpanel.pymap import backends, service
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.results import UserRecord
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import MalformedToken, inspect_token

from . import knowledge

#: A name no user has; the probe asks for a token for ``<prefix><random hex>``.
PROBE_PREFIX = "adminpanel-backend-probe-"


@sensitive_variables("token")
def from_own_sign_in(server: PymapServer, token: str, own: UserRecord) -> Capabilities:
    """After a sign-in with a login token: its identifier and the own record."""
    seen = backends.from_record(own.entity_tag, own.params)
    try:
        info = inspect_token(token)
    except MalformedToken:
        return knowledge.learn(server, seen)
    return knowledge.learn(server, seen & backends.from_login_token(info.identifier, info.authcid))


@sensitive_variables("token")
def from_admin_token(server: PymapServer, token: str) -> Capabilities:
    """After a sign-in with pymap's admin token (costs one ~300 ms call)."""
    caps = knowledge.capabilities(server)
    if caps.known is not None or backends.Backend.DICT not in caps.candidates:
        return caps
    try:
        service.login(server, PROBE_PREFIX + secrets.token_hex(8), token=token)
    except Refused as exc:
        if not exc.is_(RefusalKey.USER_NOT_FOUND):
            return caps  # an answer that tells nothing
        issued = False
    else:
        issued = True
    return knowledge.learn(server, backends.from_token_for_nobody(issued))
