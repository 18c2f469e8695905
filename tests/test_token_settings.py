"""PANEL_TOKEN_MAX_SECONDS: read at start-up, a bad value stops the panel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _max_seconds(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PANEL_TOKEN"))}
    env["DJANGO_SECRET_KEY"] = "x" * 50
    if value is not None:
        env["PANEL_TOKEN_MAX_SECONDS"] = value
    return subprocess.run(
        [sys.executable, "-c", "import adminpanel.settings as s; print(s.PANEL_TOKEN_MAX_SECONDS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_default_is_30_days_and_a_value_is_taken() -> None:
    assert _max_seconds(None).stdout.strip() == str(30 * 86400)
    assert _max_seconds("900").stdout.strip() == "900"


@pytest.mark.parametrize("value", ["0", "-5", "an hour", "1.5"])
def test_a_bad_value_stops_the_panel(value: str) -> None:
    result = _max_seconds(value)
    assert result.returncode != 0
    assert "PANEL_TOKEN_MAX_SECONDS" in result.stderr
