"""IMAP system flags, and the read, answered and flagged state that mail
archives carry, as those flags.

* mbox writers (mutt, Pine, UW IMAP, Python's ``mailbox``) keep it in two
  headers: ``Status`` (``R`` read, ``O`` old: seen by a client, not a flag)
  and ``X-Status`` (``A`` answered, ``F`` flagged, ``T`` draft, ``D``
  deleted).
* Maildir keeps it in the file name, after ``:2,`` (``!2,`` or ``;2,`` where
  a file system forbids colons): ``D`` draft, ``F`` flagged, ``R`` replied,
  ``S`` seen, ``T`` trashed; ``P`` (passed) has no IMAP flag, and lower-case
  letters are keywords whose names live in the Maildir's own
  ``dovecot-keywords`` file, which an upload does not bring.

Only system flags come out of this, in the order of :data:`SYSTEM_FLAGS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message

#: The system flags a message may be given (\Recent is the server's to set).
SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")

_STATUS = {"R": "\\Seen"}
_X_STATUS = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft", "D": "\\Deleted"}
_MAILDIR = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
#: ``1700000000.M1P2.host:2,RS`` (and an ``.eml`` added by whoever exported it).
_MAILDIR_INFO = re.compile(r"[:!;]2,([A-Za-z]*)(?:\.eml)?\Z", re.IGNORECASE)


def _ordered(flags: Iterable[str]) -> tuple[str, ...]:
    wanted = set(flags)
    return tuple(flag for flag in SYSTEM_FLAGS if flag in wanted)


def from_headers(headers: Message) -> tuple[str, ...]:
    """The flags an mbox message's ``Status`` and ``X-Status`` headers name."""
    found: list[str] = []
    for name, letters in (("Status", _STATUS), ("X-Status", _X_STATUS)):
        value = headers.get(name)
        if value is None:
            continue
        found.extend(letters[letter] for letter in str(value).upper() if letter in letters)
    return _ordered(found)


def from_maildir_name(file_name: str) -> tuple[str, ...]:
    """The flags in a Maildir file name's info (``...:2,FRS``); none if it has none."""
    match = _MAILDIR_INFO.search(file_name)
    if match is None:
        return ()
    return _ordered(_MAILDIR[letter] for letter in match[1] if letter in _MAILDIR)
