"""The panel's mail spool on disk (``PANEL_MAIL_SPOOL_DIR``).

* ``uploads/``: Django's temporary upload files (FILE_UPLOAD_TEMP_DIR), on the
  same file system as the rest, so an import's upload is moved with a rename.
* ``pending/``: one file per message waiting between the deliver form's
  preview and its confirmation, named by a random key kept in the session.
  The bytes sent are exactly the bytes stored here.
* ``imports/<spool name>/``: an import's uploaded archive or messages, kept
  while the import may still need them (resume, retry).

Everything is private to the panel's user (directories 0700, files 0600).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings

_STASH_KEY = re.compile(r"\A[0-9a-f]{32}\Z")
_CLAIMED_SUFFIX = ".sending"


def root() -> Path:
    return Path(settings.PANEL_MAIL_SPOOL_DIR)


def _directory(*parts: str) -> Path:
    path = root().joinpath(*parts)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def ensure_directories() -> None:
    for name in ("uploads", "pending", "imports"):
        _directory(name)


# --- messages waiting for confirmation -------------------------------------------


def _stash_path(key: str, *, claimed: bool = False) -> Path:
    if not _STASH_KEY.match(key):
        raise ValueError("not a stash key")
    return _directory("pending") / (key + (_CLAIMED_SUFFIX if claimed else ""))


def stash(data: bytes) -> str:
    """Store ``data`` for a later confirmation; returns its key."""
    sweep_stash()
    key = secrets.token_hex(16)
    directory = _directory("pending")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, _stash_path(key))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return key


def read_stash(key: str) -> bytes | None:
    try:
        return _stash_path(key).read_bytes()
    except (OSError, ValueError):
        return None


def claim_stash(key: str) -> bytes | None:
    """Take the stashed message for sending, once: a second confirmation of the
    same preview (a double click, a replayed form) finds nothing."""
    try:
        claimed = _stash_path(key, claimed=True)
        os.rename(_stash_path(key), claimed)
        return claimed.read_bytes()
    except (OSError, ValueError):
        return None


def discard_stash(key: str) -> None:
    for claimed in (False, True):
        with contextlib.suppress(OSError, ValueError):
            _stash_path(key, claimed=claimed).unlink()


def sweep_stash(max_age: float | None = None) -> None:
    """Remove previews nobody confirmed (their sessions have ended)."""
    age = settings.PANEL_SESSION_ABSOLUTE_SECONDS if max_age is None else max_age
    cutoff = time.time() - age
    for entry in _directory("pending").iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                entry.unlink()


# --- import uploads -----------------------------------------------------------------


def new_import_name() -> str:
    return secrets.token_hex(16)


def import_directory(name: str, *, create: bool = False) -> Path:
    if not _STASH_KEY.match(name):
        raise ValueError("not a spool name")
    path = root() / "imports" / name
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=False)
    return path


#: The file an import's messages are read from, in its spool directory.
DATA_FILE = "messages"
#: The uploaded archive before it is checked (and uncompressed).
UPLOAD_FILE = "upload"


def data_path(name: str) -> Path:
    """The message file of the import whose spool directory is ``name``."""
    return import_directory(name) / DATA_FILE


def upload_path(name: str) -> Path:
    """The uploaded archive of the import whose spool directory is ``name``."""
    return import_directory(name) / UPLOAD_FILE


def remove_import_directory(name: str) -> None:
    with contextlib.suppress(ValueError):
        shutil.rmtree(import_directory(name), ignore_errors=True)
