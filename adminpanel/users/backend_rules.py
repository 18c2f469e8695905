"""What a user record may hold on the server's backend, checked before any write.

pymap stores what it is given, but some backends read parts of a record in
their own syntax (adminpanel/pymap/backends.py): redis takes a param named
``role`` as the user's role, maildir separates group members with ``,``.
These checks refuse such values with the reason, so nothing is written that
the server would misread. Each returns the problems in words (empty: fine).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from adminpanel.pymap.backends import Capabilities

MAILBOX_PATH = "mailbox_path"


def _describe(chars: str) -> str:
    names = {"\r": "carriage return", "\n": "line break", "\\": "backslash '\\'"}
    return ", ".join(names.get(char, repr(char)) for char in chars)


def _found(value: str, chars: str) -> list[str]:
    return [char for char in chars if char in value]


def name_problems(caps: Capabilities, name: str, *, what: str = "A user name") -> list[str]:
    found = _found(name, caps.forbidden_name_chars)
    if not found:
        return []
    return [
        f"{what} cannot contain {_describe(''.join(found))} on this server ({caps.label}): "
        "it keeps users and roles in files where these characters separate names, so "
        "the user could land in another user's roles."
    ]


def role_problems(caps: Capabilities, roles: Sequence[str]) -> list[str]:
    problems = [
        problem
        for role in roles
        for problem in name_problems(caps, role, what=f"The role {role!r}")
    ]
    if caps.max_roles is not None and len(roles) > caps.max_roles:
        problems.append(
            f"This server ({caps.label}) can store at most {caps.max_roles} role per user; "
            f"this user would have {len(roles)}. Keep one."
        )
    return problems


def param_problems(caps: Capabilities, params: Mapping[str, str]) -> dict[str, str]:
    """Param name -> why the backend cannot store it as given."""
    problems: dict[str, str] = {}
    for key, value in params.items():
        if key in caps.reserved_params:
            problems[key] = f"The name {key!r} cannot be used here: {caps.reserved_params[key]}."
        elif not caps.keeps_param(key):
            kept = ", ".join(sorted(caps.kept_params or ()))
            problems[key] = (
                f"This server ({caps.label}) keeps only the parameter {kept}; {key!r} "
                "would be dropped without a word."
            )
        elif found := _found(value, caps.forbidden_value_chars):
            problems[key] = (
                f"The value of {key!r} cannot contain {_describe(''.join(found))} on this "
                f"server ({caps.label}): it stores the value in a one-line file record."
            )
    return problems


def mailbox_path_warning(
    caps: Capabilities, name: str, params: Mapping[str, str], before: Mapping[str, str] | None
) -> str | None:
    """Why a ``mailbox_path`` needs the operator's confirmation, or None.

    On maildir it is the user's directory, relative to the server's base
    directory: an absolute path or ``..`` points outside it, and changing it
    points the user at another directory; the mail already there does not move.
    """
    if not caps.keeps_param(MAILBOX_PATH) or caps.stores_all_params:
        return None  # an ordinary param on this backend
    path = params.get(MAILBOX_PATH, name)  # pymap's default is the user's name
    previous = before.get(MAILBOX_PATH) if before is not None else None
    reasons = []
    if posixpath.isabs(path) or ".." in path.split("/"):
        reasons.append(f"{path!r} lies outside the server's mail directory")
    if previous is not None and path != previous:
        reasons.append(
            f"it changes from {previous!r} to {path!r}: the user will see the mail in the new "
            "directory, and the mail in the old one does not move"
        )
    if not reasons:
        return None
    return f"The mailbox path {'; '.join(reasons)}."
