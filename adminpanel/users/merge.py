"""Comparing user values and re-applying one operator's edit on newer values.

pymap stores roles as a set, so roles are compared as sets; params are
compared key by key. Passwords never appear here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.results import ADMIN_ROLE, UserRecord


def sorted_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Display order: the admin role first, then by name."""
    unique = set(roles)
    return tuple(sorted(unique, key=lambda role: (role != ADMIN_ROLE, role)))


@dataclass(frozen=True)
class UserValues:
    """The editable part of a user: roles and params."""

    roles: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, roles: Iterable[str], params: Mapping[str, str]) -> UserValues:
        return cls(sorted_roles(roles), dict(params))


@dataclass(frozen=True)
class Version:
    """The version of a user an edit form or a bulk plan was made from."""

    #: None: no tag was read (such a version is never current where tags count).
    entity_tag: int | None
    values: UserValues
    password_fingerprint: str


def unchanged_since(version: Version, current: UserRecord, caps: Capabilities) -> bool:
    """Whether ``current`` (read again now) is still ``version``.

    Where the backend checks entity tags, the tag says it; where it does not
    (maildir, always 0), the stored roles, params and password's fingerprint.
    """
    if caps.checks_entity_tags:
        return version.entity_tag is not None and current.entity_tag == version.entity_tag
    return (
        set(current.roles) == set(version.values.roles)
        and dict(current.params) == dict(version.values.params)
        and current.password_fingerprint == version.password_fingerprint
    )


def changed_fields(before: UserValues, after: UserValues) -> list[str]:
    """``["roles", "params.quota", ...]``: what differs, never the values."""
    changed = ["roles"] if set(before.roles) != set(after.roles) else []
    keys = before.params.keys() | after.params.keys()
    changed += [
        f"params.{key}" for key in sorted(keys) if before.params.get(key) != after.params.get(key)
    ]
    return changed


def _unify_line_breaks(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def keep_line_breaks(base: UserValues, yours: UserValues) -> UserValues:
    """Undo the browser's line-break rewriting in values the operator left alone.

    A textarea submits every line break as CRLF, so a stored "a\\nb" comes back
    as "a\\r\\nb" although nobody changed it; keep the stored form then.
    """
    params = {
        key: base.params[key]
        if key in base.params and _unify_line_breaks(base.params[key]) == _unify_line_breaks(value)
        else value
        for key, value in yours.params.items()
    }
    return UserValues(yours.roles, params)


def rebase(base: UserValues, yours: UserValues, current: UserValues) -> UserValues:
    """Your changes (from ``base`` to ``yours``) applied on top of ``current``.

    What you did not touch keeps its current value, so another operator's
    change survives unless you changed the same role or param yourself.
    """
    removed = set(base.roles) - set(yours.roles)
    added = set(yours.roles) - set(base.roles)
    roles = (set(current.roles) - removed) | added
    params = dict(current.params)
    for key in base.params.keys() | yours.params.keys():
        if base.params.get(key) == yours.params.get(key):
            continue
        if key in yours.params:
            params[key] = yours.params[key]
        else:
            params.pop(key, None)
    return UserValues.of(roles, params)


class Change(StrEnum):
    NONE = "unchanged"
    YOURS = "changed by you"
    THEIRS = "changed by someone else"
    BOTH = "changed by both"


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the conflict page; a value of None means "absent"."""

    label: str
    yours: str | None
    current: str | None
    proposed: str | None
    change: Change


def _change(base: object, yours: object, current: object) -> Change:
    mine, theirs = yours != base, current != base
    if mine and theirs:
        return Change.NONE if yours == current else Change.BOTH
    if mine:
        return Change.YOURS
    return Change.THEIRS if theirs else Change.NONE


def compare(base: UserValues, yours: UserValues, current: UserValues) -> list[ComparisonRow]:
    proposed = rebase(base, yours, current)
    rows = [
        ComparisonRow(
            "Roles",
            ", ".join(yours.roles) or "(none)",
            ", ".join(current.roles) or "(none)",
            ", ".join(proposed.roles) or "(none)",
            _change(set(base.roles), set(yours.roles), set(current.roles)),
        )
    ]
    keys = base.params.keys() | yours.params.keys() | current.params.keys()
    for key in sorted(keys):
        rows.append(
            ComparisonRow(
                f"Parameter {key}",
                yours.params.get(key),
                current.params.get(key),
                proposed.params.get(key),
                _change(base.params.get(key), yours.params.get(key), current.params.get(key)),
            )
        )
    return rows
