"""Rotating the secret key (docs/operations.md): earlier keys go into
DJANGO_SECRET_KEY_FALLBACKS, and what they sealed still opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "old-key-" + "o" * 50, "new-key-" + "n" * 50


def test_the_fallbacks_file_holds_one_earlier_key_a_line(tmp_path: Path) -> None:
    fallbacks = tmp_path / "fallbacks"
    fallbacks.write_text(f"{OLD}\nolder-{OLD}\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env = {**clean, "DJANGO_SECRET_KEY": NEW, "DJANGO_SECRET_KEY_FALLBACKS_FILE": str(fallbacks)}
    result = subprocess.run(
        [sys.executable, "-c", "import adminpanel.settings as s; print(*s.SECRET_KEY_FALLBACKS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [OLD, f"older-{OLD}"]


def test_what_the_old_key_sealed_opens_only_while_it_is_a_fallback(
    settings: DjangoSettings,
) -> None:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    sealed = seal("a-token", Purpose.SESSION)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert unseal(sealed, Purpose.SESSION) == "a-token"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(UnsealError):
        unseal(sealed, Purpose.SESSION)
