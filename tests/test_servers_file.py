"""PANEL_SERVERS_FILE: pymap-admin.conf's format, one server per section."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.servers_file import ServersFileError, load, parse
from adminpanel.servers import current
from devtools.local_processes import make_self_signed_cert

from .support.servers import SAVED, save_args

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_has_pymap_admins_meaning_plus_the_panels_own() -> None:
    staging, production = parse(
        "[staging]\n"
        "host = pymap.staging.example\n"
        "port = 9090\n"
        "cafile = /etc/ca.pem\n"
        "capath = /etc/ssl/certs\n"
        "cert = /etc/client.pem\n"
        "key = /etc/client.key\n"
        "no_verify_cert = True\n"
        "timeout = 2.5\n"
        "label = Staging\n"
        "backend = redis\n"
        "\n"
        "[production]\n"
        "path = /run/pymap/pymap-admin.sock\n"
    )
    assert staging == PymapServer(
        name="staging",
        host="pymap.staging.example",
        port=9090,
        cafile="/etc/ca.pem",
        capath="/etc/ssl/certs",
        certfile="/etc/client.pem",
        keyfile="/etc/client.key",
        verify_cert=False,
        timeout=2.5,
        backend="redis",
        label="Staging",
    )
    assert staging.uses_tls  # TCP is TLS, as pymap-admin's is, unless plaintext
    assert production == PymapServer(name="production", path="/run/pymap/pymap-admin.sock")
    assert production.title == "production"
    assert parse("[dev]\nport = 50051\nplaintext = yes\n")[0].address == "grpc://localhost:50051"


def test_imap_and_managesieve_are_fields_of_their_own_with_default_ports() -> None:
    from adminpanel.pymap.servers import MailEndpoint

    (server,) = parse(
        "[mail]\npath = /run/pymap.sock\nimap_host = imap.example\nimap_security = tls\n"
        "managesieve_host = sieve.example\nmanagesieve_port = 14190\n"
    )
    assert server.imap == MailEndpoint("imap.example", 993, "tls")
    assert server.managesieve == MailEndpoint("sieve.example", 14190, "starttls")
    (plain,) = parse("[m]\nimap_host = localhost\nimap_security = none\n")
    assert plain.imap == MailEndpoint("localhost", 143, "none")
    assert plain.managesieve is None


def test_a_file_written_by_pymap_admin_save_args_is_read_unchanged(tmp_path: Path) -> None:
    config = tmp_path / "pymap-admin.conf"
    # pymap-admin builds its TLS context before any command, save-args too:
    # the CA file must exist.
    cafile, _ = make_self_signed_cert(tmp_path)
    output = save_args(
        config,
        "--host",
        "127.0.0.1",
        "--port",
        "50099",
        "--cafile",
        str(cafile),
        "--no-verify-cert",
        "--token-file",
        "/tmp/some.token",
    )
    assert str(config) in output
    (server,) = load(config)
    assert server == PymapServer(
        name=SAVED, host="127.0.0.1", port=50099, cafile=str(cafile), verify_cert=False
    )


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("host = x\n[a]\n", 1, "before any [server] section"),
        ("[a]\nhost = x\n[a]\n", 3, "named twice"),
        ("[a]\nhost = x\nhost = y\n", 3, "host is set twice"),
        ("[a]\nhost = x\n\n  port = 50051\nbogus line\n", 5, "not a 'key = value' line"),
        ("[a]\nhost = x\nprot = 50051\n", 3, "unknown key 'prot'"),
        ("[a]\nhost = x\nport = fifty\n", 3, "port = 'fifty' is not a number"),
        ("[a]\nport = 70000\n", 2, "outside 1..65535"),
        ("[a]\n\ntimeout = 0\n", 3, "timeout = 0 is outside"),
        ("[a]\nno_verify_cert = perhaps\n", 2, "not true or false"),
        ("[a]\nbackend = sql\n", 2, "backend = 'sql' is not one of"),
        ("[ok]\n[bad/name]\n", 2, "not a usable server name"),
        ("[a]\nimap_host = m\nimap_security = ssl\n", 3, "imap_security = 'ssl' is not one"),
        ("[a]\nmanagesieve_port = 4190\n", 2, "managesieve_port is set without"),
        ("[a]\nimap_host = m\nimap_port = 0\n", 3, "imap_port = 0 is outside"),
    ],
)
def test_a_malformed_file_names_the_line_at_fault(text: str, line: int, says: str) -> None:
    with pytest.raises(ServersFileError) as caught:
        parse(text, "servers.conf")
    assert f"servers.conf, line {line}:" in str(caught.value)
    assert says in str(caught.value)


def test_a_file_without_servers_or_unreadable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServersFileError, match="no \\[server\\] section"):
        parse("; nothing here\n")
    with pytest.raises(ServersFileError, match="cannot be read"):
        load(tmp_path / "missing.conf")


def test_a_malformed_file_stops_the_panel_at_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "servers.conf"
    bad.write_text("[alpha]\npath = /run/a.sock\nprot = 1\n", encoding="utf-8")
    env = {**os.environ, "DJANGO_DEBUG": "1", "PANEL_SERVERS_FILE": str(bad)}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: PANEL_SERVERS_FILE:" in done.stderr
    assert f"{bad}, line 3: [alpha] has an unknown key 'prot'" in done.stderr


def test_without_the_file_the_environment_defines_the_one_server(
    settings: DjangoSettings,
) -> None:
    settings.PANEL_SERVERS = ()
    settings.PYMAP_SERVER = PymapServer(name="only", path="/run/only.sock")
    assert current.all_servers() == (settings.PYMAP_SERVER,)
    assert current.default().name == "only"
    assert not current.named_in_urls()
    assert current.by_name("only") == settings.PYMAP_SERVER
    assert current.by_name("other") is None


def test_with_the_file_its_servers_are_the_panels(settings: DjangoSettings) -> None:
    first, second = parse("[one]\npath = /a\n[two]\npath = /b\n")
    settings.PANEL_SERVERS = (first, second)
    assert current.default() == first
    assert current.by_name("two") == second
    assert current.named_in_urls()
