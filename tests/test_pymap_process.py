"""The test harness itself: a real pymap starts, answers and stops cleanly."""

from __future__ import annotations

import imaplib
import os
from collections.abc import Callable, Iterator

import pytest
from sievelib import managesieve

from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused, ServerUnavailable
from adminpanel.pymap.servers import PymapServer
from devtools import pymap_process
from devtools.local_processes import LOCALHOST, PORT_ATTEMPTS, free_ports
from devtools.pymap_process import BACKENDS, PortTakenError, PymapProcess
from devtools.pymap_venv import PYMAP_VERSION, PymapStartError

from .support.pymap_users import DEMO_PASSWORD, DEMO_USER, MakeUser


@pytest.fixture(scope="module")
def tls_pymap() -> Iterator[PymapProcess]:
    with PymapProcess(tls=True) as process:
        yield process


def test_ping_over_socket(pymap: PymapProcess) -> None:
    info = service.ping(pymap.server())
    assert info.pymap_version == PYMAP_VERSION
    assert info.pymap_admin_version == service.CLIENT_VERSION
    assert pymap.socket_path.is_socket()
    assert pymap.admin_token == pymap.token_file.read_text().strip()


def test_pymap_server_fixture_sets_settings(pymap_server: PymapServer) -> None:
    from django.conf import settings

    assert settings.PYMAP_SERVER is pymap_server
    assert pymap_server.path is not None
    assert not pymap_server.uses_tcp


@pytest.mark.backends("dict")  # the demo data
def test_admin_token_reads_demo_user(pymap_server: PymapServer, admin_token: str) -> None:
    user = service.get_user(pymap_server, admin_token, DEMO_USER)
    assert user.name == DEMO_USER
    assert user.has_password


def test_ping_over_tls(tls_pymap: PymapProcess) -> None:
    server = tls_pymap.tls_server()
    assert server.uses_tls
    assert server.port == tls_pymap.admin_port
    assert service.ping(server).pymap_version == PYMAP_VERSION


def test_tls_is_really_verified(tls_pymap: PymapProcess) -> None:
    """Without the cafile the self-signed certificate is rejected."""
    assert tls_pymap.admin_port is not None
    untrusted = PymapServer(name="x", host="127.0.0.1", port=tls_pymap.admin_port, timeout=3)
    with pytest.raises(ServerUnavailable):
        service.ping(untrusted)


@pytest.mark.backends("dict")  # the demo data
def test_demo_login_over_imap(imap_client: Callable[..., imaplib.IMAP4]) -> None:
    client = imap_client(DEMO_USER, DEMO_PASSWORD)
    typ, data = client.select("INBOX", readonly=True)
    assert typ == "OK"
    assert int(data[0] or b"0") > 0  # the demo data has messages


def test_created_user_logs_in_over_imap(
    pymap_user: MakeUser, imap_client: Callable[..., imaplib.IMAP4]
) -> None:
    user = pymap_user("imap")
    other = pymap_user("imap")
    assert user.name != other.name
    client = imap_client(user.name, user.password)
    assert client.state == "AUTH"


def test_wrong_imap_password_is_refused(imap_client: Callable[..., imaplib.IMAP4]) -> None:
    with pytest.raises(imaplib.IMAP4.error):
        imap_client(DEMO_USER, "wrong")


def test_restart_keeps_paths_and_ports_but_not_data() -> None:
    with PymapProcess(imap=True) as process:
        server = process.server()
        service.set_user(server, process.admin_token, "temp", password="secret-pass")
        before = (process.socket_path, process.imap_port, process.admin_port, process.pid)
        old_token = process.admin_token

        process.restart()

        assert (process.socket_path, process.imap_port, process.admin_port) == before[:3]
        assert process.pid != before[3]
        assert process.admin_token != old_token  # a fresh admin key on every start
        assert service.ping(server).pymap_version == PYMAP_VERSION  # same settings work
        with pytest.raises(Refused) as refused:
            service.get_user(server, process.admin_token, "temp")
        assert refused.value.key == "UserNotFound"
        tmp_dir = process.tmp_dir
    assert not tmp_dir.exists()
    assert not process.running


def test_early_exit_reports_stderr() -> None:
    process = PymapProcess(extra_args=["--no-such-option"])
    with pytest.raises(PymapStartError, match="no-such-option"):
        process.start()
    assert not process.running


def test_stop_without_start_and_twice_is_harmless() -> None:
    process = PymapProcess()
    process.stop()
    process.start()
    pid = process.pid
    process.stop()
    process.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_port_taken_before_pymap_binds_it_is_picked_again(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    picks: list[list[int]] = []

    def first_imap_port_taken(count: int) -> list[int]:
        ports = free_ports(count)
        if not picks:
            ports[1] = taken_port  # the race free_ports() cannot rule out
        picks.append(ports)
        return ports

    monkeypatch.setattr(pymap_process, "free_ports", first_imap_port_taken)
    with PymapProcess(imap=True) as process:
        assert len(picks) == 2
        assert process.imap_port == picks[1][1] != taken_port
        imap = imaplib.IMAP4(LOCALHOST, process.imap_port, timeout=10)
        try:
            assert imap.login(DEMO_USER, DEMO_PASSWORD)[0] == "OK"
        finally:
            imap.logout()


def test_a_port_taken_on_every_try_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    picks: list[int] = []

    def always_taken(count: int) -> list[int]:
        picks.append(taken_port)
        return [taken_port, *free_ports(count - 1)]

    monkeypatch.setattr(pymap_process, "free_ports", always_taken)
    process = PymapProcess()
    # Python 3.13 words it "...{port}): [errno 98] address already in use".
    in_use = rf"{taken_port}\): (\[errno 98\] )?address already in use"
    with pytest.raises(PortTakenError, match=in_use):
        process.start()
    assert len(picks) == PORT_ATTEMPTS
    assert not process.running


@pytest.mark.filterwarnings("ignore:Credentials are sent over an unencrypted")
@pytest.mark.parametrize("backend", BACKENDS)
def test_managesieve_and_imap_on_free_loopback_ports(backend: str) -> None:
    """A test can ask for ManageSieve beside IMAP; both answer as a user on
    their own picked ports, on every backend."""
    with PymapProcess(backend=backend, imap=True, managesieve=True) as pymap:
        assert pymap.sieve_port is not None
        assert pymap.imap_port is not None
        assert len({pymap.sieve_port, pymap.imap_port, pymap.admin_port}) == 3
        assert ["--sieve-host", LOCALHOST, "--sieve-port", str(pymap.sieve_port)] == (
            pymap.command()[1:5]
        )
        service.set_user(pymap.server(), pymap.admin_token, "sieveuser", password="sievepw")
        sieve = managesieve.Client(LOCALHOST, pymap.sieve_port)
        assert sieve.connect("sieveuser", "sievepw", authmech="PLAIN")
        assert sieve.get_implementation() == "pymap managesieve 0.36.7"
        assert sieve.get_sieve_capabilities() == ["fileinto", "reject", "envelope", "body"]
        sieve.sock.close()
        imap = imaplib.IMAP4(LOCALHOST, pymap.imap_port, timeout=5)
        imap.login("sieveuser", "sievepw")
        imap.logout()


def test_managesieve_is_off_unless_asked_for() -> None:
    with PymapProcess() as pymap:
        assert pymap.sieve_port is None
        assert "--no-service" in pymap.command()
        assert "managesieve" in pymap.command()
