"""Helpers for the token and command tests: reading what a page shows, running
the commands it shows with their secrets supplied."""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from devtools.pymap_process import PymapProcess
from devtools.pymap_venv import ensure_pymap_venv

from .stored import cli

TOKEN_FIELD = re.compile(r'<textarea id="(issued|narrowed)-token"[^>]*>([^<]*)</textarea>')
COMMAND = re.compile(r'<pre class="command"><code>(.*?)</code></pre>', re.S)


def shown_token(text: str, which: str = "issued") -> str:
    for kind, value in TOKEN_FIELD.findall(text):
        if kind == which:
            token: str = html.unescape(value).strip()
            return token
    raise AssertionError(f"no {which} token on the page")


def shown_commands(text: str) -> list[str]:
    return [html.unescape(command) for command in COMMAND.findall(text)]


def works(pymap: PymapProcess, token: str, user: str) -> bool:
    """Whether ``pymap-admin get-user USER`` succeeds with ``token``."""
    return cli(pymap, "get-user", user, token=token).returncode == 0


def refusal(pymap: PymapProcess, token: str, user: str) -> str:
    result = cli(pymap, "get-user", user, token=token)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def run_shown(
    command: str,
    cwd: Path,
    *,
    token: str | None = None,
    stdin: bytes | None = None,
    home: Path | None = None,
    detached: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command exactly as a page shows it, with ``/bin/sh``: the
    ``PYMAP_ADMIN_TOKEN=…`` placeholder becomes ``"$TOKEN"``; ``pymap-admin``
    and ``python3`` are those of pymap's environment. ``detached``: without a
    controlling terminal (``setsid``), so that a password prompt (``-i``) reads
    ``stdin``."""
    placeholder = "PYMAP_ADMIN_TOKEN=…"
    if token is not None:
        assert command.startswith(placeholder + " "), command
        command = 'PYMAP_ADMIN_TOKEN="$TOKEN"' + command.removeprefix(placeholder)
    env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYMAP_ADMIN", "XDG_CONFIG"))
    }
    env["PATH"] = f"{ensure_pymap_venv().parent}:{env.get('PATH', '')}"
    env["HOME"] = str(home or cwd)
    if token is not None:
        env["TOKEN"] = token
    return subprocess.run(
        [*(["setsid"] if detached else []), "/bin/sh", "-c", command],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
