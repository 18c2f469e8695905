"""What an Append's result means, in words an operator can act on.

Shared by the deliver result page and the import report. Every result key
pymap may send gets a sentence; an unknown key still gets a clear one.
"""

from __future__ import annotations

from adminpanel.pymap.errors import (
    REFUSAL_MESSAGES,
    IncompatibleServer,
    PymapError,
    RefusalKey,
    Refused,
    ServerTimeout,
    ServerUnavailable,
)
from adminpanel.pymap.results import AppendError

_REASONS: dict[str, str] = {
    RefusalKey.USER_NOT_FOUND: "There is no user “{user}” on the mail server.",
    RefusalKey.MAILBOX_NOT_FOUND: (
        "The mailbox “{mailbox}” does not exist. Create it (with an IMAP "
        "client, for example), then try again."
    ),
    RefusalKey.MAILBOX_READ_ONLY: "The mailbox “{mailbox}” is read-only.",
    RefusalKey.AUTHORIZATION_FAILURE: (
        "You may not deliver to “{user}”: only an identity with the admin role may "
        "deliver to other users."
    ),
    RefusalKey.NOT_ALLOWED: "The mail server does not allow this for your identity.",
    RefusalKey.INVALID_AUTH: (
        "The mail server no longer accepts the token (the session ended, or the user "
        "was deleted or changed). Sign in again and try again."
    ),
    RefusalKey.APPEND_FAILURE: "The mail server could not store the message.",
    RefusalKey.TEMPORARY_FAILURE: "The mail server had a temporary failure; try again shortly.",
}

#: Refusals that would hit every message of an import alike: the import stops
#: (its remaining messages stay queued) instead of failing them one by one.
JOB_WIDE_KEYS = frozenset(
    {
        RefusalKey.INVALID_AUTH,
        RefusalKey.AUTHORIZATION_FAILURE,
        RefusalKey.NOT_ALLOWED,
        RefusalKey.USER_NOT_FOUND,
        RefusalKey.MAILBOX_NOT_FOUND,
        RefusalKey.MAILBOX_READ_ONLY,
        RefusalKey.TEMPORARY_FAILURE,
    }
)

DISCARDED = "Accepted, discarded by the user's filter."
UNKNOWN_SUFFIX = " The message may or may not have been delivered: check the mailbox."


def refusal_reason(key: str, *, user: str, mailbox: str) -> str:
    template = _REASONS.get(key)
    if template is not None:
        return template.format(user=user, mailbox=mailbox)
    if key in REFUSAL_MESSAGES:
        return REFUSAL_MESSAGES[key]
    return f"The mail server refused the message ({key or 'no reason given'})."


def error_reason(error: PymapError, *, user: str, mailbox: str) -> str:
    if isinstance(error, Refused):
        return refusal_reason(error.key, user=user, mailbox=mailbox)
    return error.message


def stops_import(failure: AppendError) -> bool:
    """Whether this failure means the next messages would fail the same way."""
    if isinstance(failure.error, Refused):
        return failure.error.key in JOB_WIDE_KEYS
    return isinstance(failure.error, ServerUnavailable | ServerTimeout | IncompatibleServer)
