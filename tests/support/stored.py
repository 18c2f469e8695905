"""What the server kept, read past the panel: with the reference CLI
(``pymap-admin``, installed beside pymap) and, on maildir, pymap's own files.

The CLI reads with the token it is given. With pymap's admin token, maildir
merges the caller's ``admin`` role into every record (PYMAP.md), so there the
record is read with a login token of the user itself, as the panel does, and
the roles are also checked in ``pymap-etc-group``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from google.protobuf import text_format

from adminpanel.pymap import service
from adminpanel.pymap.generated.admin_pb2 import Result, UserResponse
from devtools.pymap_process import PymapProcess
from devtools.pymap_venv import ensure_pymap_venv

_UNESCAPED_COLON = re.compile(r"(?<!\\):")


@dataclass(frozen=True)
class StoredUser:
    name: str
    roles: frozenset[str]
    params: dict[str, str]
    has_password: bool


def cli(
    pymap: PymapProcess, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``pymap-admin --path <socket> ARGS`` with ``token`` (default: the admin token)."""
    command = [str(ensure_pymap_venv().parent / "pymap-admin"), "--path", str(pymap.socket_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYMAP_ADMIN")}
    env["PYMAP_ADMIN_TOKEN"] = token if token is not None else pymap.admin_token
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _own_token(pymap: PymapProcess, name: str) -> str:
    """A login token of ``name`` itself, minted with the admin token."""
    return service.login(pymap.server(), name, token=pymap.admin_token)


def stored_user(pymap: PymapProcess, name: str) -> StoredUser | None:
    """The user as the server keeps it, read with ``pymap-admin get-user``;
    None when the server has no such user."""
    if pymap.backend == "maildir" and not maildir_has_user(pymap, name):
        return None
    token = _own_token(pymap, name) if pymap.backend == "maildir" else None
    result = cli(pymap, "get-user", name, token=token)
    if result.returncode != 0:
        # A refusal: the CLI prints the Result alone.
        refusal = text_format.Parse(result.stdout + result.stderr, Result())
        assert refusal.key == "UserNotFound", result.stdout + result.stderr
        return None
    response = text_format.Parse(result.stdout, UserResponse())
    user = StoredUser(
        name=response.user,
        roles=frozenset(response.data.roles),
        params=dict(response.data.params),
        has_password=bool(response.data.password),
    )
    if pymap.backend == "maildir":
        assert user.roles == maildir_group_roles(pymap, name), "the CLI and the group file differ"
    return user


def _maildir_lines(pymap: PymapProcess, file_name: str) -> list[list[str]]:
    path = pymap.maildir_dir / file_name
    if not path.exists():
        return []
    return [
        [field.replace("\\:", ":") for field in _UNESCAPED_COLON.split(line)]
        for line in path.read_text().splitlines()
        if line
    ]


def maildir_has_user(pymap: PymapProcess, name: str) -> bool:
    return any(fields[0] == name for fields in _maildir_lines(pymap, "pymap-etc-passwd"))


def maildir_group_roles(pymap: PymapProcess, name: str) -> frozenset[str]:
    """The groups ``pymap-etc-group`` lists the user in (maildir's roles)."""
    return frozenset(
        fields[0]
        for fields in _maildir_lines(pymap, "pymap-etc-group")
        if len(fields) >= 4 and name in fields[3].split(",")
    )


def maildir_token_lines(pymap: PymapProcess) -> int:
    """How many tokens ``pymap-tokens`` holds (one line per Login, kept for good)."""
    return len(_maildir_lines(pymap, "pymap-tokens"))
