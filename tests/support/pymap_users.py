"""Users on the session's pymap servers: the record of one made for a test,
and the factory behind the ``pymap_user`` fixture."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

DEMO_USER = "demouser"
DEMO_PASSWORD = "demopass"


@dataclass(frozen=True)
class PymapUser:
    name: str
    password: str
    roles: tuple[str, ...]
    entity_tag: int


def make_user(
    server: PymapServer,
    admin_token: str,
    name: str,
    password: str,
    roles: Iterable[str] = (),
) -> PymapUser:
    """Create ``name`` on the server (fails with Refused if it exists)."""
    roles = tuple(roles)
    tag = service.set_user(server, admin_token, name, password=password, roles=roles)
    return PymapUser(name=name, password=password, roles=roles, entity_tag=tag)


def unique_name(prefix: str) -> str:
    """``<prefix>-<12 hex digits>``: a name no other test on the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class SessionAdmin:
    """Who creates the test users for a whole session: a user with the admin
    role and its login token, or (``name`` None) pymap's admin token."""

    name: str | None
    token: str


class UserFactory:
    """``pymap_user(prefix="user", password=None, roles=(), name=None)``: a new user.

    The name is ``<prefix>-<12 hex digits>`` unless given; the password is
    random unless given. Users are not deleted afterwards: the names never
    repeat, and every backend's data goes when the session ends (dict forgets
    it, the maildir directory and the redis keys are deleted), while deleting
    would cost another call per user. ``pymap`` is the server they are made on.
    """

    def __init__(self, pymap: PymapProcess, creator: SessionAdmin) -> None:
        self.pymap = pymap
        self.backend: str = pymap.backend
        #: The session's creator of users, also the operator of
        #: ``signed_in_admin`` where signing in is not what a test is about.
        self.creator = creator
        self._server = pymap.server()
        self._token = creator.token

    def __call__(
        self,
        prefix: str = "user",
        *,
        password: str | None = None,
        roles: Iterable[str] = (),
        name: str | None = None,
    ) -> PymapUser:
        return make_user(
            self._server,
            self._token,
            name if name is not None else unique_name(prefix),
            password if password is not None else secrets.token_urlsafe(12),
            roles,
        )


#: The type of the ``pymap_user`` fixture.
MakeUser = UserFactory
