"""Small readers for configuration from the environment.

Each raises ImproperlyConfigured on a value it cannot use, so a typo stops the
panel at start-up instead of silently falling back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})


def env_str(name: str, default: str = "", env: Mapping[str, str] = os.environ) -> str:
    return env.get(name, default).strip()


def env_bool(name: str, default: bool, env: Mapping[str, str] = os.environ) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    env: Mapping[str, str] = os.environ,
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}")
    return value


def env_float(
    name: str, default: float, *, minimum: float = 0.0, env: Mapping[str, str] = os.environ
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc
    if not value >= minimum:  # also refuses NaN
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}")
    return value


def env_choice(
    name: str, default: str, choices: tuple[str, ...], env: Mapping[str, str] = os.environ
) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def env_list(name: str, default: list[str], env: Mapping[str, str] = os.environ) -> list[str]:
    raw = env.get(name, "")
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return items or default


def env_secret(name: str, env: Mapping[str, str] = os.environ) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``.

    The file form suits container secrets and keeps the value out of the
    process environment.
    """
    file_name = env.get(f"{name}_FILE", "").strip()
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc}") from exc
    return env.get(name, "").strip()


def env_secret_list(name: str, env: Mapping[str, str] = os.environ) -> list[str]:
    """Secrets from ``NAME`` or from the file named by ``NAME_FILE``,
    separated by white space or new lines (Django's generated keys hold
    neither): ``SECRET_KEY_FALLBACKS`` for a key rotation."""
    return env_secret(name, env).split()
