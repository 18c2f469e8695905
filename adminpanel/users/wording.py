"""What changed, in words: "the roles and the parameter “forward”", not
"roles, params.forward" (the field names the audit log keeps)."""

from __future__ import annotations

from collections.abc import Iterable

PARAM_PREFIX = "params."


def changed_in_words(fields: Iterable[str]) -> str:
    """``("roles", "params.forward", "password")`` -> "the roles, the parameter
    “forward” and the password"."""
    params = [
        field.removeprefix(PARAM_PREFIX) for field in fields if field.startswith(PARAM_PREFIX)
    ]
    parts = [f"the {field}" for field in fields if not field.startswith(PARAM_PREFIX)]
    if len(params) == 1:
        parts.append(f"the parameter “{params[0]}”")
    elif params:
        parts.append("the parameters " + _joined([f"“{name}”" for name in params]))
    return _joined(parts) or "nothing"


def _joined(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
