"""The user list from pymap's maildir backend: its passwd and group files.

pymap 0.36.7 keeps its users in ``pymap-etc-passwd`` (one line per user:
name, ``x``, uid, gid, comment, the user's mailbox path, shell) and their
roles in ``pymap-etc-group`` (one line per role: name, ``x``, gid, the
members separated by commas); a user whose uid is ``0`` is an admin too.
Fields are separated by ``:``, a ``:`` inside a field is written ``\\:``
(pymap/backend/maildir/users.py). The hashes are in ``pymap-etc-shadow``,
which the panel never opens.

These files are parsed the way pymap parses them: a line is cut at every
``:`` not preceded by a backslash, then each ``\\:`` becomes ``:``; a later
line for the same name replaces an earlier one. pymap writes each file
whole to a temporary file and renames it into place, so a reader never sees
half a file. The files are read line by line and the parsed list is kept
per process until either file changes (its modification time, size or
inode): docs/backends.md has the figures.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from adminpanel.pymap.store_access import UserStoreAccess

from .listing import ListedUser, Page, Search, StoreUnreadable

PASSWD_FILE = "pymap-etc-passwd"  # noqa: S105 (a file name)
GROUP_FILE = "pymap-etc-group"
#: pymap's split: on every colon that no backslash escapes.
_FIELD_SEPARATOR = re.compile(r"(?<!\\):")
#: Fields of a passwd line (pymap's UserRecord) and of a group line (GroupRecord).
PASSWD_FIELDS = 7
GROUP_FIELDS = 4
#: pymap: a user with this uid is an admin.
ROOT_UID = "0"

_Stamp = tuple[int, int, int] | None


@dataclass(frozen=True)
class _Snapshot:
    stamps: tuple[_Stamp, _Stamp]
    #: Every user in name order, and their names case-folded for the search.
    users: tuple[ListedUser, ...]
    folded: tuple[str, ...]


_snapshots: dict[str, _Snapshot] = {}
_lock = threading.Lock()


def read_page(access: UserStoreAccess, search: Search, *, after: int, size: int) -> Page:
    assert access.maildir_path is not None
    snapshot = _snapshot(Path(access.maildir_path), access.where)
    wanted = search.text.casefold()
    if wanted:
        matching = [
            user
            for user, folded in zip(snapshot.users, snapshot.folded, strict=True)
            if (folded.startswith(wanted) if search.starts_with else wanted in folded)
        ]
    else:
        matching = list(snapshot.users)
    shown = matching[after : after + size]
    ends = after + size
    return Page(
        users=tuple(shown),
        next_after=ends if ends < len(matching) else None,
        total=len(matching),
    )


def _snapshot(base: Path, where: str) -> _Snapshot:
    """The parsed files, parsed again only when one of them changed."""
    if not base.is_dir():
        raise StoreUnreadable(f"The panel cannot read {where}: there is no such directory.")
    stamps = (_stamp(base / PASSWD_FILE), _stamp(base / GROUP_FILE))
    key = str(base)
    with _lock:
        kept = _snapshots.get(key)
        if kept is not None and kept.stamps == stamps:
            return kept
    snapshot = _parse(base, stamps, where)
    with _lock:
        _snapshots[key] = snapshot
    return snapshot


def _stamp(path: Path) -> _Stamp:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None  # pymap reads a missing file as an empty one
    except OSError as exc:
        raise StoreUnreadable(f"The panel cannot read {path}: {exc.strerror}.") from exc
    return (status.st_mtime_ns, status.st_size, status.st_ino)


def _parse(base: Path, stamps: tuple[_Stamp, _Stamp], where: str) -> _Snapshot:
    try:
        roles = _roles(base / GROUP_FILE)
        records = _records(base / PASSWD_FILE, PASSWD_FIELDS)
    except OSError as exc:
        raise StoreUnreadable(
            f"The panel cannot read {where} ({exc.strerror}): pymap writes its files "
            "readable by its own user only, so the panel must run as that user."
        ) from exc
    users = []
    for name, fields in sorted(records.items()):
        user_roles = roles.get(name)
        if fields[2] == ROOT_UID:
            user_roles = (user_roles or set()) | {"admin"}
        shown = tuple(sorted(user_roles)) if user_roles else ()
        users.append(ListedUser(name, shown, (("mailbox_path", fields[5]),)))
    return _Snapshot(stamps, tuple(users), tuple(user.name.casefold() for user in users))


def _records(path: Path, width: int) -> dict[str, list[str]]:
    """Each name's fields (padded to ``width``), read line by line; a later
    line replaces an earlier one, as in pymap. Lines pymap could not read
    (more fields than its record has) and blank ones are left out."""
    records: dict[str, list[str]] = {}
    try:
        file = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records
    with file:
        for line in file:
            text = line.rstrip("\r\n")
            if "\\" in text:
                fields = [part.replace("\\:", ":") for part in _FIELD_SEPARATOR.split(text)]
            else:  # no escape in the line: the same fields, several times faster
                fields = text.split(":")
            if len(fields) > width or not fields[0]:
                continue
            records[fields[0]] = fields + [""] * (width - len(fields))
    return records


def _roles(path: Path) -> dict[str, set[str]]:
    """user -> the roles (groups) that list it."""
    roles: dict[str, set[str]] = {}
    for role, fields in _records(path, GROUP_FIELDS).items():
        members = fields[3]
        for member in members.split(",") if members else ():
            roles.setdefault(member, set()).add(role)
    return roles


def forget() -> None:
    """Drop every kept snapshot (tests and benchmarks)."""
    with _lock:
        _snapshots.clear()
