"""Fixtures that run the tests against real pymap servers, on every backend.

Every test that uses the ``pymap`` fixture (directly or through the fixtures
below) runs once per pymap backend: dict (with demo data), maildir (a
temporary directory) and redis (the machine's Redis, a database and key prefix
of the suite's own, deleted afterwards). One server per backend serves the
whole session, with plaintext IMAP; see :mod:`devtools.pymap_process`. Tests
share it, so anything a test creates on it must have a unique name: use the
``pymap_user`` factory. A test that needs its own server (TLS, restart, a
broken server) starts a ``PymapProcess`` itself.

Choosing backends:

* ``@pytest.mark.backends("dict")`` on a test (or ``pytestmark`` on a module)
  runs it on those backends only: for tests that only make sense there (the
  demo data, one backend's own behaviour).
* ``pytest --backend maildir`` (repeatable) runs the server tests on those
  backends only; ``-m maildir`` selects the tests that run on maildir (each
  parametrised test carries its backend's marker).

Fixtures:

* ``pymap`` (session, one per backend): the :class:`PymapProcess`; its
  ``backend`` attribute says which.
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
from devtools.pymap_process import BACKENDS, LOCALHOST, PymapProcess

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="run the server tests on this pymap backend only (repeatable; default: all)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run the test on these pymap backends only"
    )
    for backend in BACKENDS:
        config.addinivalue_line("markers", f"{backend}: the test runs on pymap's {backend} backend")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One run per backend for every test that needs the session's pymap."""
    if "pymap" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("backend") or BACKENDS
    marker = metafunc.definition.get_closest_marker("backends")
    wanted = marker.args if marker is not None else BACKENDS
    unknown = set(wanted) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown backends {unknown}")
    backends = [backend for backend in BACKENDS if backend in wanted and backend in chosen]
    metafunc.parametrize("pymap", backends, indirect=True, scope="session")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test with its backend, so that ``-m maildir`` selects."""
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("pymap") if callspec is not None else None
    if isinstance(backend, str):  # not for a test none of the chosen backends runs
        item.add_marker(backend)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests last, after pytest grouped the tests by backend: they
    are the slowest, the fast tests fail first, and Playwright's event loop in
    the main thread (while its session fixture lives) would make Django refuse
    database access in the tests that follow (SynchronousOnlyOperation)."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)


@pytest.fixture(scope="session")
def pymap(request: pytest.FixtureRequest) -> Iterator[PymapProcess]:
    """The session's pymap server for one backend, with IMAP on ``pymap.imap_port``."""
    with PymapProcess(backend=request.param, imap=True) as process:
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


@pytest.fixture(scope="session")
def _user_creator_token(pymap: PymapProcess) -> str:
    """A login token of a user with the admin role, for creating test users.

    It may do what the admin token does, but each call with the admin token
    costs ~300 ms more (pymap's invalid-user delay), and SetUser is ~430 ms
    with it against ~130 ms with this one. On maildir only the admin token
    may act on other users (PYMAP.md), so it is the admin token there.
    """
    if pymap.backend == "maildir":
        return pymap.admin_token
    server = pymap.server()
    name, password = f"fixture-admin-{uuid.uuid4().hex[:12]}", secrets.token_urlsafe(16)
    make_user(server, pymap.admin_token, name, password, roles=["admin"])
    return service.login(server, name, password=password)


@pytest.fixture
def admin_login_token(_user_creator_token: str) -> str:
    """A login token of an admin-role user, for setting up a test's data
    (cheaper than the server's admin token, which costs 300 ms a call)."""
    return _user_creator_token


class UserFactory:
    """``pymap_user(prefix="user", password=None, roles=(), name=None)``: a new user.

    The name is ``<prefix>-<12 hex digits>`` unless given; the password is
    random unless given. Users are not deleted afterwards: the names never
    repeat, and every backend's data goes when the session ends (dict forgets
    it, the maildir directory and the redis keys are deleted), while deleting
    would cost another call per user. ``pymap`` is the server they are made on.
    """

    def __init__(self, pymap: PymapProcess, token: str) -> None:
        self.pymap = pymap
        self.backend: str = pymap.backend
        self._server = pymap.server()
        self._token = token

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
            name if name is not None else f"{prefix}-{uuid.uuid4().hex[:12]}",
            password if password is not None else secrets.token_urlsafe(12),
            roles,
        )


#: The type of the ``pymap_user`` fixture.
MakeUser = UserFactory


@pytest.fixture
def pymap_user(pymap: PymapProcess, _user_creator_token: str) -> UserFactory:
    """The :class:`UserFactory` for the session's server."""
    return UserFactory(pymap, _user_creator_token)


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
