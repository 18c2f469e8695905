"""The ``pymap-admin`` (0.12.1) command that does what a panel page just did.

Result pages show it so that an operator can repeat or script the change.
No secret is ever part of a command: passwords come from a file
(``--password-file``) or the terminal (``-i``), and the token that
authorises the call is the placeholder ``PYMAP_ADMIN_TOKEN=…`` (or the token
file pymap-admin finds by itself). Every word is quoted with :func:`shlex.quote`
for a POSIX shell.

What pymap-admin 0.12.1 really does, read in its source and checked against
pymap 0.36.7 (docs/tokens.md):

* Over TCP it always uses TLS and accepts ``--cert``/``--key`` without ever
  loading them, so a server that needs a client certificate or runs without
  TLS cannot be reached by it; a unix socket always works.
* ``set-user`` without ``--password-file`` or ``--no-password`` asks for the
  password on the terminal; ``--password-file`` reads its first line.
* ``change-password`` is a GetUser and a SetUser of what it read: where the
  backend merges the caller's roles into what GetUser answers (maildir), it
  makes the user an admin, so there the command is a ``set-user`` with the
  user's stored roles and params instead.
* ``login -s`` saves the token to ``$XDG_CONFIG_HOME/pymap/pymap-admin.token``
  (``~/.config/pymap/pymap-admin.token``), mode 600, but fails when ``~/.config``
  does not exist (it makes only the last folder); ``--expiration`` gives an
  unusable token in 0.36.7 (a naive timestamp), so an expiry is added with
  pymacaroons, as the panel does.

This module builds text only: it imports no gRPC.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .backends import Capabilities
from .servers import PymapServer, default_socket_path

#: The placeholder for the token that authorises a command.
TOKEN_PLACEHOLDER = "PYMAP_ADMIN_TOKEN=…"  # noqa: S105  (a placeholder)
#: Where ``pymap-admin login -s`` saves a token (``$XDG_CONFIG_HOME`` if set).
TOKEN_FILE = "~/.config/pymap/pymap-admin.token"  # noqa: S105  (a path, not a secret)
#: The file the commands read a password from.
PASSWORD_FILE = "password.txt"  # noqa: S105
#: The file the append command reads the message from.
MESSAGE_FILE = "message.eml"

#: The flags pymap-admin has a switch for.
_FLAG_SWITCHES = {
    "\\Flagged": "--flagged",
    "\\Seen": "--seen",
    "\\Draft": "--draft",
    "\\Deleted": "--deleted",
    "\\Answered": "--answered",
}

#: Adds one first-party caveat (argv[1]) to the token file named by argv[2].
NARROW_SCRIPT = (
    "import sys, pathlib; from pymacaroons import Macaroon; "
    "p = pathlib.Path(sys.argv[2]).expanduser(); "
    "m = Macaroon.deserialize(p.read_text().strip()); "
    "m.add_first_party_caveat(sys.argv[1]); p.write_text(m.serialize())"
)


@dataclass(frozen=True)
class Step:
    """One shell line: ``text`` is what the page shows."""

    text: str
    note: str = ""


@dataclass(frozen=True)
class ShownCommand:
    """The command(s) of one result page, and what they need."""

    title: str
    steps: tuple[Step, ...]
    #: What the operator must provide or know (files, the token, caveats).
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (for the session); templates read both forms alike."""
        return {
            "title": self.title,
            "steps": [{"text": step.text, "note": step.note} for step in self.steps],
            "notes": list(self.notes),
        }

    @property
    def text(self) -> str:
        return "\n".join(step.text for step in self.steps)


def connection_args(server: PymapServer) -> list[str]:
    """The global options that reach ``server`` as the panel does."""
    if not server.uses_tcp:
        return ["--path", server.path or default_socket_path()]
    args = ["--host", server.host or "localhost"]
    if server.port is not None:
        args += ["--port", str(server.port)]
    if server.cafile:
        args += ["--cafile", server.cafile]
    if server.capath:
        args += ["--capath", server.capath]
    if not server.verify_cert:
        args.append("--no-verify-cert")
    return args


def connection_notes(server: PymapServer) -> list[str]:
    notes: list[str] = []
    if server.uses_tcp and server.plaintext:
        notes.append(
            "The panel reaches this server without TLS; pymap-admin always uses TLS over TCP, "
            "so run it on the server's machine with --path and the admin socket instead."
        )
    if server.uses_tcp and server.certfile:
        notes.append(
            "pymap-admin 0.12.1 accepts --cert and --key but never sends the client "
            "certificate: a server that requires one refuses it."
        )
    return notes


def _line(server: PymapServer, args: Sequence[str], *, token: bool = True) -> str:
    words = shlex.join(["pymap-admin", *connection_args(server), *args])
    return f"{TOKEN_PLACEHOLDER} {words}" if token else words


def _positional(name: str) -> list[str]:
    # A name that starts with "-" would be read as an option.
    return ["--", name] if name.startswith("-") else [name]


def _token_note() -> str:
    return (
        "Replace … with a token that may act on this user (issue one on the Tokens page), or "
        f"leave PYMAP_ADMIN_TOKEN=… out when {TOKEN_FILE} holds one."
    )


def _password_note() -> str:
    return (
        f"{PASSWORD_FILE}: a file whose first line is the password (create it with umask 077 "
        "and delete it afterwards); the password never goes on the command line."
    )


def _user_values(roles: Iterable[str], params: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for role in sorted(roles):
        args += ["--role", role]
    for key, value in sorted(params.items()):
        args += ["--param", f"{key}={value}"]
    return args


def _password_args(password: bool) -> list[str]:
    return ["--password-file", PASSWORD_FILE] if password else ["--no-password"]


def create_user(
    server: PymapServer,
    caps: Capabilities,
    name: str,
    *,
    password: bool,
    roles: Iterable[str],
    params: Mapping[str, str],
) -> ShownCommand:
    args = [
        "set-user",
        "--no-overwrite",
        *_password_args(password),
        *_user_values(roles, params),
        *_positional(name),
    ]
    notes = [_token_note(), *connection_notes(server)]
    if password:
        notes.append(_password_note())
    if not caps.refuses_existing_on_create:
        notes.append(
            f"On this server ({caps.label}) --no-overwrite is not honoured: the command replaces "
            "an existing user of that name, which the panel checks for first."
        )
    return ShownCommand("The same with pymap-admin", (Step(_line(server, args)),), tuple(notes))


def edit_user(
    server: PymapServer,
    caps: Capabilities,
    name: str,
    *,
    password: bool,
    roles: Iterable[str],
    params: Mapping[str, str],
) -> ShownCommand:
    """``password``: a password was sent (kept or new); False: none was."""
    args = ["set-user", *_password_args(password), *_user_values(roles, params), *_positional(name)]
    notes = [_token_note(), *connection_notes(server)]
    if password:
        notes.append(
            _password_note() + " To keep the password, the file holds the current one: "
            "set-user stores whatever it sends, and no password if it sends none."
        )
    notes.append(
        "set-user replaces the user without an entity tag: it does not notice a change made "
        "meanwhile, as the panel does."
    )
    if caps.set_user_ends_tokens:
        notes.append(f"On this server ({caps.label}) it ends every login token of the user.")
    return ShownCommand("The same with pymap-admin", (Step(_line(server, args)),), tuple(notes))


def change_password(
    server: PymapServer,
    caps: Capabilities,
    name: str,
    *,
    roles: Iterable[str],
    params: Mapping[str, str],
) -> ShownCommand:
    """The password change; ``roles`` and ``params`` as stored (used where
    ``change-password`` would write the caller's roles back)."""
    notes = [_token_note(), *connection_notes(server), _password_note()]
    if caps.merges_caller_roles:
        args = ["set-user", *_password_args(True), *_user_values(roles, params), *_positional(name)]
        notes.append(
            f"Not change-password: on this server ({caps.label}) it would read the user with "
            "the caller's roles merged in and write them back, making the user an admin. This "
            "set-user sends the user's own roles and parameters, as stored."
        )
    else:
        args = ["change-password", *_password_args(True), *_positional(name)]
    if caps.set_user_ends_tokens:
        notes.append(f"On this server ({caps.label}) it ends every login token of the user.")
    return ShownCommand("The same with pymap-admin", (Step(_line(server, args)),), tuple(notes))


def delete_user(server: PymapServer, name: str) -> ShownCommand:
    args = ["delete-user", *_positional(name)]
    notes = (_token_note(), *connection_notes(server))
    return ShownCommand("The same with pymap-admin", (Step(_line(server, args)),), notes)


def append(
    server: PymapServer,
    user: str,
    *,
    mailbox: str,
    sender: str | None,
    recipient: str | None,
    flags: Iterable[str],
    when: int | None,
) -> ShownCommand:
    args = ["append", "--mailbox", mailbox]
    if sender:
        args += ["--from", sender]
    if recipient:
        args += ["--to", recipient]
    if when is not None:
        args += ["--timestamp", str(when)]
    for flag in flags:
        switch = _FLAG_SWITCHES.get(flag)
        args += [switch] if switch else ["--flag", flag]
    args += ["--data", MESSAGE_FILE, *_positional(user)]
    notes = [
        _token_note(),
        *connection_notes(server),
        f"{MESSAGE_FILE}: the message, byte for byte (pymap-admin reads standard input "
        "without --data).",
    ]
    if when is None:
        notes.append("Without --timestamp pymap-admin dates the message now.")
    return ShownCommand("The same with pymap-admin", (Step(_line(server, args)),), tuple(notes))


def issue_token(
    server: PymapServer,
    user: str,
    *,
    with_password: bool,
    caveats: Sequence[str],
) -> ShownCommand:
    """Login (``-i``: the password from the terminal; ``-t``: with a token
    that may act on ``user``), saved with ``-s``, then each caveat added to the
    saved token with pymacaroons."""
    how = ["-i"] if with_password else ["-t"]
    login = Step(
        _line(server, ["login", *how, "-s", *_positional(user)], token=not with_password),
        f"Saves the token to {TOKEN_FILE} (mode 600).",
    )
    folder = Step(
        "umask 077 && mkdir -p ~/.config/pymap",
        "login -s of pymap-admin 0.12.1 fails (after logging in) when ~/.config does not exist.",
    )
    steps = [folder, login]
    for caveat in caveats:
        steps.append(
            Step(
                shlex.join(["python3", "-c", NARROW_SCRIPT, caveat, TOKEN_FILE]),
                f"Adds the caveat {caveat!r} (needs Python with pymacaroons).",
            )
        )
    notes = [*connection_notes(server)]
    if not with_password:
        notes.insert(0, _token_note())
    notes.append(
        "pymap-admin's own --expiration gives a token pymap cannot verify (0.36.7): the expiry "
        "is a caveat added afterwards, as the panel does."
    )
    return ShownCommand("The same with pymap-admin", tuple(steps), tuple(notes))


def use_token(server: PymapServer, user: str) -> ShownCommand:
    """How to use a token the panel issued, for the token page."""
    get_user = shlex.join(["pymap-admin", *connection_args(server), "get-user", *_positional(user)])
    return ShownCommand(
        "Using the token",
        (
            Step(f"{TOKEN_PLACEHOLDER} {get_user}", "Once: put the token in place of …."),
            Step(
                "umask 077 && mkdir -p ~/.config/pymap && "
                f"cat > {TOKEN_FILE} && chmod 600 {TOKEN_FILE}",
                "Or save it where pymap-admin looks, as login -s does: paste the token, "
                "press Enter, then Ctrl-D.",
            ),
            Step(get_user, "Then every command finds it (PYMAP_ADMIN_TOKEN, if set, wins)."),
        ),
        tuple(connection_notes(server)),
    )


def expiry_caveat(expires_at: datetime) -> str:
    """The ``time <`` caveat pymap verifies (aware timestamps only)."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return f"time < {expires_at.isoformat()}"
