"""Rotating the secret key (docs/operations.md): earlier keys go into
DJANGO_SECRET_KEY_FALLBACKS, and what they sealed still opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "old-key-" + "o" * 50, "new-key-" + "n" * 50


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
