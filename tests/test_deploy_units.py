"""deploy/: the systemd units and their settings file (docs/deploy.md).

systemd-analyze (where installed) checks the units as systemd would read
them, with the command's path pointed at a stand-in, so that an unknown key
or a bad value fails here, not on the operator's machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = (
    "pymap-adminpanel.service",
    "pymap-adminpanel-worker.service",
    "pymap-adminpanel-check.service",
)
COMMAND = "/opt/pymap-adminpanel/bin/pymap-adminpanel"
#: Where the panel reads its settings (an env name in a unit must be read there).
READERS = (
    "adminpanel/settings.py",
    "adminpanel/cli.py",
    "adminpanel/pymap/servers.py",
)


def _entries(path: Path) -> list[tuple[str, str]]:
    """``key=value`` lines of a unit or env file, comments and sections left out."""
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


def _values(unit: str, key: str) -> list[str]:
    return [value for name, value in _entries(DEPLOY / unit) if name == key]


@pytest.mark.parametrize("unit", UNITS)
def test_a_unit_is_hardened_and_gets_the_secret_key_as_a_credential(unit: str) -> None:
    entries = dict(_entries(DEPLOY / unit))
    for key, value in {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "User": "pymap-adminpanel",
        "StateDirectory": "pymap-adminpanel",
    }.items():
        assert entries.get(key) == value, f"{unit}: {key}"
    assert "secret-key:/etc/pymap-adminpanel/secret-key" in _values(unit, "LoadCredential")
    environment = _values(unit, "Environment")
    assert "DJANGO_SECRET_KEY_FILE=%d/secret-key" in environment
    assert not [v for v in environment if v.startswith("DJANGO_SECRET_KEY=")]


def test_the_units_run_serve_worker_and_check_and_the_web_one_migrates_first() -> None:
    assert _values(UNITS[0], "ExecStart") == [f"{COMMAND} serve"]
    assert _values(UNITS[0], "ExecStartPre") == [f"{COMMAND} migrate --noinput"]
    assert _values(UNITS[1], "ExecStart") == [f"{COMMAND} worker --no-reload"]
    assert _values(UNITS[2], "ExecStart") == [f"{COMMAND} check"]
    # SIGTERM to the worker alone: it finishes its run (docs/configuration.md).
    assert _values(UNITS[1], "KillMode") == ["mixed"]


def test_every_setting_the_deploy_files_name_is_one_the_panel_reads() -> None:
    read = "".join((ROOT / path).read_text() for path in READERS)
    names = {key for key, _ in _entries(DEPLOY / "panel.env")}
    for unit in UNITS:
        names |= {value.partition("=")[0] for value in _values(unit, "Environment")}
    names.discard("PROMETHEUS_MULTIPROC_DIR")  # prometheus-client's own
    assert names
    # NAME_FILE is read by env_secret("NAME").
    unread = sorted(name for name in names if f'"{name.removesuffix("_FILE")}' not in read)
    assert not unread, f"settings nothing reads: {unread}"
    assert not re.search(r"SECRET_KEY=|TOKEN=", (DEPLOY / "panel.env").read_text())


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_accepts_the_unit(unit: str, tmp_path: Path) -> None:
    stand_in = tmp_path / "pymap-adminpanel"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    copy = tmp_path / unit
    copy.write_text((DEPLOY / unit).read_text().replace(COMMAND, str(stand_in)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
