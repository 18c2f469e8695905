"""Checks on names and values before anything is sent to pymap.

pymap accepts an empty user name and arbitrary bytes in names, roles and
params, so validation is the panel's job.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

MAX_NAME_LENGTH = 255
MAX_PARAM_VALUE_LENGTH = 4096


def has_control(value: str) -> bool:
    """Control, format or line/paragraph separator characters (NUL, CR, LF, bidi...)."""
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in value)


def validate_name(value: str, *, what: str = "A user name") -> None:
    """User names, role names and param keys: visible characters only."""
    if not value:
        raise ValidationError(f"{what} cannot be empty.", code="empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{what} can be at most {MAX_NAME_LENGTH} characters (this one has {len(value)}).",
            code="too_long",
        )
    if has_control(value):
        raise ValidationError(
            f"{what} cannot contain control characters (such as line breaks or NUL).",
            code="control",
        )
    if any(ch.isspace() for ch in value):
        raise ValidationError(f"{what} cannot contain spaces.", code="whitespace")


def validate_user_name(value: str) -> None:
    validate_name(value, what="A user name")


def validate_param_value(value: str) -> None:
    if len(value) > MAX_PARAM_VALUE_LENGTH:
        raise ValidationError(
            f"A value can be at most {MAX_PARAM_VALUE_LENGTH} characters.", code="too_long"
        )
    if "\x00" in value:
        raise ValidationError("A value cannot contain NUL characters.", code="nul")
