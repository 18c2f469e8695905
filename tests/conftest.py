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
* ``taken_port``: a loopback port something listens on, for the servers'
  start on ports another process took first.
"""

from __future__ import annotations

import imaplib
import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.local_processes import LOCALHOST
from devtools.pymap_process import BACKENDS, PymapProcess

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.pymap_users import DEMO_PASSWORD, DEMO_USER, SessionAdmin, UserFactory, make_user


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
    config.addinivalue_line("markers", "browser: drives Chromium (tests/browser/)")
    config.addinivalue_line("markers", "postgres: needs PostgreSQL on 127.0.0.1:5432")
    config.addinivalue_line(
        "markers", "long: one of the longest tests; started before the others of its kind"
    )
    config.addinivalue_line(
        "markers", "package: builds the wheel and runs the panel installed from it"
    )
    config.addinivalue_line(
        "markers", "timing: compares response times against a real pymap (a few seconds)"
    )


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
    """Mark each test with its backend, so that ``-m maildir`` selects, and
    the browser tests with ``browser``.

    Under pytest-xdist (``make test``) each worker starts its own pymap, and
    for browser tests its own panel, per backend it meets. The browser tests
    are not kept together: one backend's in one worker took longer than all
    the rest of the suite.
    """
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("pymap") if callspec is not None else None
    if isinstance(backend, str):  # not for a test none of the chosen backends runs
        item.add_marker(backend)
    if "tests/browser/" in item.nodeid:
        item.add_marker("browser")


def _runs_on_no_chosen_backend(item: pytest.Item) -> bool:
    """A server test whose backends are all left out by ``--backend``."""
    if "pymap" not in getattr(item, "fixturenames", ()):
        return False
    callspec = getattr(item, "callspec", None)
    if callspec is None or "pymap" not in callspec.params:
        return True
    # pytest's stand-in for an empty parameter list: a test marked to skip.
    skip = item.get_closest_marker("skip")
    return skip is not None and "empty parameter set" in str(skip.kwargs.get("reason", ""))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that run on none of the chosen backends (rather
    than skip them), and put the browser tests last (the ``long`` ones first
    among them), after pytest grouped the tests by backend: they are the
    slowest, the fast tests fail first, and Playwright's event loop in the
    main thread (while its session fixture lives) would make Django refuse
    database access in the tests that follow (SynchronousOnlyOperation)."""
    left_out = [item for item in items if _runs_on_no_chosen_backend(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _runs_on_no_chosen_backend(item)]
    items.sort(key=_run_order)


def _run_order(item: pytest.Item) -> tuple[bool, bool]:
    """Browser tests last; among each kind the ``long`` ones first, so that
    under pytest-xdist no worker starts one when the others are nearly done."""
    return "tests/browser/" in item.nodeid, item.get_closest_marker("long") is None


@pytest.fixture(autouse=True)
def _no_kept_database_reads() -> None:
    """Each test starts without what a process keeps of database reads between
    requests (servers/knowledge.py, users/recent.py): a test's database is
    rolled back or flushed after it, and the next may reuse the server's name."""
    from adminpanel.servers import knowledge
    from adminpanel.users import recent

    knowledge.forget()
    recent.forget()


@pytest.fixture(scope="session")
def pymap(request: pytest.FixtureRequest) -> Iterator[PymapProcess]:
    """The session's pymap server for one backend, with IMAP on ``pymap.imap_port``
    and ManageSieve on ``pymap.sieve_port``."""
    with PymapProcess(backend=request.param, imap=True, managesieve=True) as process:
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
def _session_admin(pymap: PymapProcess) -> SessionAdmin:
    """A user with the admin role and its login token, for creating test users.

    It may do what the admin token does, but each call with the admin token
    costs ~300 ms more (pymap's invalid-user delay), and SetUser is ~430 ms
    with it against ~130 ms with this one. On maildir only the admin token
    may act on other users (PYMAP.md), so it is the admin token there. No
    test may change this user: on redis that would end its token.
    """
    if pymap.backend == "maildir":
        return SessionAdmin(None, pymap.admin_token)
    server = pymap.server()
    name, password = f"fixture-admin-{uuid.uuid4().hex[:12]}", secrets.token_urlsafe(16)
    make_user(server, pymap.admin_token, name, password, roles=["admin"])
    return SessionAdmin(name, service.login(server, name, password=password))


@pytest.fixture
def admin_login_token(_session_admin: SessionAdmin) -> str:
    """A login token of an admin-role user, for setting up a test's data
    (cheaper than the server's admin token, which costs 300 ms a call)."""
    return _session_admin.token


@pytest.fixture
def pymap_user(pymap: PymapProcess, _session_admin: SessionAdmin) -> UserFactory:
    """The :class:`UserFactory` for the session's server."""
    return UserFactory(pymap, _session_admin)


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
def taken_port() -> Iterator[int]:
    """A port another process took before ours bound it: something listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOCALHOST, 0))
        listener.listen()
        yield int(listener.getsockname()[1])


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
    from .support.users import fake_session

    server = fake_pymap.install(monkeypatch, recorder)
    settings.PYMAP_SERVER = server
    fake_session(client, server, name="operator", admin=True)
    return client
