"""Fixtures that run the tests against a real pymap server.

One pymap (dict backend, demo data, plaintext IMAP) serves the whole session;
see :mod:`devtools.pymap_process`. Tests share it, so anything a test creates
on it must have a unique name: use the ``pymap_user`` factory. A test that
needs its own server (TLS, restart, a broken server) starts a
``PymapProcess`` itself.

Fixtures:

* ``pymap`` (session): the :class:`PymapProcess`.
* ``pymap_server``: ``settings.PYMAP_SERVER`` pointed at its unix socket;
  returns the :class:`PymapServer`.
* ``admin_token``: the admin macaroon (every call with it costs ~300 ms).
* ``pymap_user(...)``: creates a user with a unique name; returns a
  :class:`PymapUser` with the clear-text password. It creates them with the
  login token of a session-wide admin-role user, which is faster than the
  admin token; ``make_user`` takes any token that may create users.
* ``imap_client(user, password)``: an ``imaplib.IMAP4`` logged in to the
  session server, logged out after the test.
"""

from __future__ import annotations

import imaplib
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import LOCALHOST, PymapProcess

from . import fake_pymap
from .fake_pymap import Recorder

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: they are the slowest, and the fast tests fail first."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)


@pytest.fixture(scope="session")
def pymap() -> Iterator[PymapProcess]:
    """The session's pymap server, with IMAP on ``pymap.imap_port``."""
    with PymapProcess(imap=True) as process:
        yield process


@pytest.fixture
def pymap_server(pymap: PymapProcess, settings: DjangoSettings) -> PymapServer:
    """Point the panel (``settings.PYMAP_SERVER``) at the session server."""
    server = pymap.server()
    settings.PYMAP_SERVER = server
    return server


@pytest.fixture
def admin_token(pymap: PymapProcess) -> str:
    return pymap.admin_token


MakeUser = Callable[..., PymapUser]


@pytest.fixture(scope="session")
def _user_creator_token(pymap: PymapProcess) -> str:
    """A login token of a user with the admin role, for creating test users.

    It may do what the admin token does, but each call with the admin token
    costs ~300 ms more (pymap's invalid-user delay), and SetUser is ~430 ms
    with it against ~130 ms with this one.
    """
    server = pymap.server()
    name, password = f"fixture-admin-{uuid.uuid4().hex[:12]}", secrets.token_urlsafe(16)
    make_user(server, pymap.admin_token, name, password, roles=["admin"])
    return service.login(server, name, password=password)


@pytest.fixture
def admin_login_token(_user_creator_token: str) -> str:
    """A login token of an admin-role user, for setting up a test's data
    (cheaper than the server's admin token, which costs 300 ms a call)."""
    return _user_creator_token


@pytest.fixture
def pymap_user(pymap: PymapProcess, _user_creator_token: str) -> MakeUser:
    """Factory: ``pymap_user(prefix="user", password=None, roles=(), name=None)``.

    The name is ``<prefix>-<12 hex digits>`` unless given; the password is
    random unless given. Users are not deleted afterwards: the names never
    repeat and the dict backend forgets everything when the session ends
    (deleting would cost another admin call per user).
    """
    server = pymap.server()

    def create(
        prefix: str = "user",
        *,
        password: str | None = None,
        roles: Iterable[str] = (),
        name: str | None = None,
    ) -> PymapUser:
        return make_user(
            server,
            _user_creator_token,
            name if name is not None else f"{prefix}-{uuid.uuid4().hex[:12]}",
            password if password is not None else secrets.token_urlsafe(12),
            roles,
        )

    return create


@pytest.fixture
def imap_client(pymap: PymapProcess) -> Iterator[Callable[..., imaplib.IMAP4]]:
    """Factory: ``imap_client(user="demouser", password="demopass")``.

    Returns a logged-in ``imaplib.IMAP4``; every client is logged out (and its
    socket closed) when the test ends.
    """
    if pymap.imap_port is None:
        raise RuntimeError("the session pymap runs without IMAP")
    port = pymap.imap_port
    clients: list[imaplib.IMAP4] = []

    def connect(user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> imaplib.IMAP4:
        client = imaplib.IMAP4(LOCALHOST, port, timeout=10)
        clients.append(client)
        client.login(user, password)
        return client

    yield connect
    for client in clients:
        try:
            client.logout()  # sends LOGOUT, then closes the socket
        except (imaplib.IMAP4.error, OSError):
            # LOGOUT failed before imaplib closed anything (3.11 does not).
            with suppress(OSError):
                client.shutdown()


@pytest.fixture
def mail_spool(tmp_path: Path, settings: DjangoSettings) -> Path:
    """A mail spool (uploads, pending deliveries, imports) of the test's own."""
    from adminpanel.mail import spool

    root = tmp_path / "spool"
    settings.PANEL_MAIL_SPOOL_DIR = root
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "uploads")
    spool.ensure_directories()
    return root


# --- the scripted fake, for faults and no-RPC proofs ------------------------------


@pytest.fixture
def recorder() -> Recorder:
    """What the fake pymap was asked, and what it answers (see fake_pymap.py)."""
    return Recorder()


@pytest.fixture
def fake_admin(
    client: Client, monkeypatch: pytest.MonkeyPatch, recorder: Recorder, settings: DjangoSettings
) -> Client:
    """A signed-in admin session whose every RPC goes to the recording fake."""
    from .users_support import fake_session  # it imports this module

    server = fake_pymap.install(monkeypatch, recorder)
    settings.PYMAP_SERVER = server
    fake_session(client, server, name="operator", admin=True)
    return client
