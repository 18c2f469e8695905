"""Two real pymap servers on different backends, named in one servers file.

``two_servers_running``: the session's server (``pymap``, on the backend under test)
as ``[alpha]``, and a server of the test's own on the next backend (dict ->
maildir -> redis -> dict), which a test may stop midway. The file's
``[pymap-admin]`` section is the one ``pymap-admin save-args`` really wrote
for the second server; ``[alpha]`` is appended by hand, as an operator would.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.servers_file import load
from devtools.pymap_process import BACKENDS, PymapProcess
from devtools.pymap_venv import ensure_pymap_venv

#: The second server's backend, so that the two always differ.
NEXT_BACKEND = {backend: BACKENDS[(i + 1) % len(BACKENDS)] for i, backend in enumerate(BACKENDS)}
#: pymap-admin save-args names its section so; the panel keeps the name.
SAVED = "pymap-admin"


@dataclass(frozen=True)
class TwoServers:
    alpha: PymapServer
    beta: PymapServer
    alpha_process: PymapProcess
    beta_process: PymapProcess
    file: Path


def save_args(config: Path, *args: str) -> str:
    """Run ``pymap-admin ARGS save-args`` writing ``config``; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYMAP_ADMIN")}
    env["PYMAP_ADMIN_CONFIG"] = str(config)
    command = [str(ensure_pymap_venv().parent / "pymap-admin"), *args, "save-args"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def write_servers_file(directory: Path, alpha: PymapProcess, beta: PymapProcess) -> Path:
    config = directory / "pymap-admin.conf"
    save_args(config, "--path", str(beta.socket_path))
    with config.open("a", encoding="utf-8") as file:
        file.write(
            f"\n[alpha]\npath = {alpha.socket_path}\nlabel = Alpha ({alpha.backend})\ntimeout = 5\n"
        )
    return config


@contextmanager
def two_servers_running(
    pymap: PymapProcess, settings: DjangoSettings, tmp_path: Path
) -> Iterator[TwoServers]:
    """For a fixture: the panel's ``PANEL_SERVERS`` are ``alpha`` (``pymap``)
    and ``pymap-admin`` (a new server on the next backend)."""
    with PymapProcess(backend=NEXT_BACKEND[pymap.backend], imap=True) as other:
        file = write_servers_file(tmp_path, pymap, other)
        beta, alpha = load(file)
        assert (beta.name, alpha.name) == (SAVED, "alpha")
        settings.PANEL_SERVERS = (alpha, beta)
        yield TwoServers(alpha, beta, pymap, other, file)


def sign_in_to(client: Client, server: PymapServer, token: str) -> Any:
    """Sign in to ``server`` with ``token`` through the panel's form."""
    return client.post(f"/s/{server.name}/accounts/sign-in/", {"method": "token", "token": token})
