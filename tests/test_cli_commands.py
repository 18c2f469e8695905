"""The pymap-admin commands result pages show: quoted for a POSIX shell, never
a secret, the connection the panel uses (no server needed)."""

from __future__ import annotations

import shlex

from adminpanel.pymap import cli_commands
from adminpanel.pymap.backends import Backend, capabilities
from adminpanel.pymap.servers import PymapServer

SOCKET = PymapServer(name="s", path="/run/pymap/pymap-admin.sock")
DICT = capabilities([Backend.DICT])
MAILDIR = capabilities([Backend.MAILDIR])


def _argv(command: cli_commands.ShownCommand) -> list[str]:
    [step] = command.steps
    words = shlex.split(step.text)
    assert words[0] == cli_commands.TOKEN_PLACEHOLDER
    return words[1:]


def test_every_word_is_quoted_for_the_shell() -> None:
    name = "o'brien;$(rm -rf ~)`x`"
    command = cli_commands.create_user(
        SOCKET, DICT, name, password=True, roles=["a b"], params={"note": "x\ny $HOME"}
    )
    assert _argv(command) == [
        "pymap-admin",
        "--path",
        "/run/pymap/pymap-admin.sock",
        "set-user",
        "--no-overwrite",
        "--password-file",
        "password.txt",
        "--role",
        "a b",
        "--param",
        "note=x\ny $HOME",
        name,
    ]


def test_a_name_that_looks_like_an_option_comes_after_a_double_dash() -> None:
    assert _argv(cli_commands.delete_user(SOCKET, "-rf"))[-2:] == ["--", "-rf"]


def test_tcp_servers_get_host_port_and_tls_options_and_what_the_cli_cannot_do() -> None:
    server = PymapServer(
        name="t", host="mail.example.org", port=9090, cafile="/etc/ca.pem", verify_cert=False
    )
    assert _argv(cli_commands.delete_user(server, "bob"))[1:7] == [
        "--host",
        "mail.example.org",
        "--port",
        "9090",
        "--cafile",
        "/etc/ca.pem",
    ]
    plain = PymapServer(name="p", host="10.0.0.2", port=50051, plaintext=True, certfile="c")
    notes = " ".join(cli_commands.delete_user(plain, "bob").notes)
    assert "always uses TLS" in notes
    assert "never sends the client certificate" in notes


def test_no_password_ever_goes_on_the_command_line() -> None:
    for command in (
        cli_commands.create_user(SOCKET, DICT, "bob", password=True, roles=(), params={}),
        cli_commands.edit_user(SOCKET, DICT, "bob", password=True, roles=(), params={}),
        cli_commands.change_password(SOCKET, DICT, "bob", roles=(), params={}),
    ):
        assert "--password-file password.txt" in command.text
        assert "--password " not in command.text
    none = cli_commands.edit_user(SOCKET, DICT, "bob", password=False, roles=(), params={})
    assert "--no-password" in none.text


def test_on_maildir_a_password_change_resends_the_users_own_roles() -> None:
    """change-password there writes back the caller's roles merged in by GetUser."""
    dict_command = cli_commands.change_password(SOCKET, DICT, "bob", roles=["x"], params={})
    assert "change-password" in dict_command.text
    maildir = cli_commands.change_password(
        SOCKET, MAILDIR, "bob", roles=["x"], params={"mailbox_path": "bob"}
    )
    assert _argv(maildir)[3:] == [
        "set-user",
        "--password-file",
        "password.txt",
        "--role",
        "x",
        "--param",
        "mailbox_path=bob",
        "bob",
    ]
    assert "making the user an admin" in " ".join(maildir.notes)


def test_append_uses_the_flag_switches_and_the_timestamp() -> None:
    command = cli_commands.append(
        SOCKET,
        "bob",
        mailbox="Lists/pymap",
        sender="a@example.org",
        recipient=None,
        flags=["\\Seen", "$Label1"],
        when=1614834367,
    )
    assert _argv(command)[3:] == [
        "append",
        "--mailbox",
        "Lists/pymap",
        "--from",
        "a@example.org",
        "--timestamp",
        "1614834367",
        "--seen",
        "--flag",
        "$Label1",
        "--data",
        "message.eml",
        "bob",
    ]


def test_issuing_logs_in_saves_and_adds_each_caveat() -> None:
    command = cli_commands.issue_token(
        SOCKET, "bob", with_password=True, caveats=["time < 2030-01-01T00:00:00+00:00"]
    )
    folder, login, narrow = (step.text for step in command.steps)
    assert folder == "umask 077 && mkdir -p ~/.config/pymap"
    assert shlex.split(login)[-4:] == ["login", "-i", "-s", "bob"]
    assert not login.startswith(cli_commands.TOKEN_PLACEHOLDER), "-i needs no token"
    assert shlex.split(narrow)[-2:] == ["time < 2030-01-01T00:00:00+00:00", cli_commands.TOKEN_FILE]
