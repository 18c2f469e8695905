"""What an edit form can carry, and what it does with the password.

pymap replaces a whole record on SetUser and hashes whatever password it is
given (none at all when omitted), so every edit says what happens to the
password; and a stored role or value that a browser form would split, strip
or mangle on the way back makes the record uneditable here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError

from adminpanel.lib.validators import validate_name, validate_param_value


class PasswordAction:
    """What an edit does with the password."""

    KEEP = "keep"
    #: A new password the panel makes up (users/password_generator.py), shown once after saving.
    GENERATE = "generate"
    NEW = "new"
    REMOVE = "remove"

    #: The actions that store a new password.
    SETS_NEW = frozenset({GENERATE, NEW})


def not_editable(roles: Iterable[str], params: Mapping[str, str]) -> list[str]:
    """Stored roles and params that a browser form cannot carry back unchanged.

    pymap accepts anything (PYMAP.md), so a user made elsewhere may have a
    role with a line break or a value with NUL. A form would split, strip or
    mangle those on the way back; such users are not edited here at all.
    """
    problems: list[str] = []
    for role in roles:
        try:
            validate_name(role, what="A role")
        except ValidationError as exc:
            problems.append(f"role {role[:60]!r}: {exc.messages[0]}")
    for key, value in params.items():
        try:
            validate_name(key, what="A parameter name")
            validate_param_value(value)
        except ValidationError as exc:
            problems.append(f"parameter {key[:60]!r}: {exc.messages[0]}")
    return problems
