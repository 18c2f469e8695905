"""``pymap-adminpanel``: the operator's command, run as production runs it
(the checkout's editable install; tests/browser/test_installed_package.py runs
the wheel's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.pymap_process import PymapProcess

from .test_deployment import PRODUCTION_ENV

COMMAND = Path(sys.executable).parent / "pymap-adminpanel"
ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PANEL_"))}
    return subprocess.run(
        [str(COMMAND), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_version_is_the_one_in_pyproject(tmp_path: Path) -> None:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match is not None
    result = _run("--version", env={}, cwd=tmp_path)
    assert result.stdout.strip() == f"pymap-adminpanel {match[1]}"


def test_a_setting_it_cannot_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = _run("migrate", env={"DJANGO_DEBUG": "0"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.backends("dict")
def test_check_passes_when_migrated_and_pymap_answers_and_names_each_failure(
    pymap: PymapProcess, tmp_path: Path
) -> None:
    env = {
        **PRODUCTION_ENV,
        "PANEL_STATE_DIR": str(tmp_path / "state"),
        "PYMAP_ADMIN_PATH": str(pymap.socket_path),
        "PYMAP_ADMIN_NAME": "checked",
    }
    before = _run("check", env=env, cwd=tmp_path)
    assert before.returncode == 1
    assert "migrations not applied" in before.stderr

    assert _run("migrate", "--noinput", "-v0", env=env, cwd=tmp_path).returncode == 0
    passed = _run("check", env=env, cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "secret key: set" in passed.stdout
    assert re.search(r"pymap server checked: pymap 0\.36\.7, pymap-admin [\d.]+", passed.stdout)

    gone = {**env, "PYMAP_ADMIN_PATH": str(tmp_path / "no.sock"), "PYMAP_ADMIN_TIMEOUT": "2"}
    failed = _run("check", env=gone, cwd=tmp_path)
    assert failed.returncode == 1
    assert "pymap server checked: The mail server at" in failed.stderr
