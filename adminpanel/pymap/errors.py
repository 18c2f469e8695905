"""The one exception family the views see for anything that goes wrong.

Every failure of an admin call ends up as a :class:`PymapError` with a message
fit to show an operator and the HTTP status a page about it should carry: a
:class:`~adminpanel.lib.refusal.Refusal`, so it is rendered where every
refusal is.
"""

from __future__ import annotations

from enum import StrEnum

from adminpanel.lib.refusal import Refusal


class PymapError(Refusal):
    """Base class: ``message`` is safe to show; ``status`` suits a page.
    ``outcome`` (the error's kind) is what the audit log and import reports store."""

    status = 502

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ServerUnavailable(PymapError):
    """Nothing answered: connection refused, socket missing, TLS failed."""

    status = 503


class ServerTimeout(PymapError):
    """The server accepted the call but did not answer within the timeout."""

    status = 504


class IncompatibleServer(PymapError):
    """The server speaks another version of the admin protocol."""


class ServerFault(PymapError):
    """The server failed internally (gRPC UNKNOWN/INTERNAL and the like)."""


class RefusalKey(StrEnum):
    """Result keys pymap sends for an in-band failure (its exception names)."""

    INVALID_AUTH = "InvalidAuth"
    AUTHORIZATION_FAILURE = "AuthorizationFailure"
    NOT_ALLOWED = "NotAllowedError"
    USER_NOT_FOUND = "UserNotFound"
    CANNOT_REPLACE_USER = "CannotReplaceUser"
    MAILBOX_NOT_FOUND = "MailboxNotFound"
    MAILBOX_READ_ONLY = "MailboxReadOnly"
    MAILBOX_CONFLICT = "MailboxConflict"
    APPEND_FAILURE = "AppendFailure"
    TEMPORARY_FAILURE = "TemporaryFailure"
    INCOMPATIBLE_DATA = "IncompatibleData"
    NOT_SUPPORTED = "NotSupportedError"


REFUSAL_MESSAGES: dict[str, str] = {
    RefusalKey.INVALID_AUTH: "The credentials were not accepted.",
    RefusalKey.AUTHORIZATION_FAILURE: "You are not authorized to act on this user.",
    RefusalKey.NOT_ALLOWED: "The server does not allow this operation for your identity.",
    RefusalKey.USER_NOT_FOUND: "No such user.",
    RefusalKey.CANNOT_REPLACE_USER: "The user already exists or was changed meanwhile.",
    RefusalKey.MAILBOX_NOT_FOUND: "No such mailbox.",
    RefusalKey.MAILBOX_READ_ONLY: "The mailbox is read-only.",
    RefusalKey.MAILBOX_CONFLICT: "The mailbox conflicts with an existing one.",
    RefusalKey.APPEND_FAILURE: "The server could not store the message.",
    RefusalKey.TEMPORARY_FAILURE: "The server had a temporary failure; try again shortly.",
    RefusalKey.INCOMPATIBLE_DATA: "The server's stored data is incompatible with this request.",
    RefusalKey.NOT_SUPPORTED: "The server does not support this operation.",
}

REFUSAL_HTTP_STATUS: dict[str, int] = {
    RefusalKey.INVALID_AUTH: 401,
    RefusalKey.AUTHORIZATION_FAILURE: 403,
    RefusalKey.NOT_ALLOWED: 403,
    RefusalKey.USER_NOT_FOUND: 404,
    RefusalKey.MAILBOX_NOT_FOUND: 404,
    RefusalKey.CANNOT_REPLACE_USER: 409,
    RefusalKey.MAILBOX_CONFLICT: 409,
    RefusalKey.TEMPORARY_FAILURE: 503,
}


class Refused(PymapError):
    """The server answered with ``result.code == FAILURE``.

    ``key`` is the server's exception class name, kept as sent even when it is
    not a known :class:`RefusalKey`; ``response`` is the IMAP-style line, for
    logs and detail views (it never holds secrets).
    """

    def __init__(self, key: str, response: str) -> None:
        known = key in REFUSAL_MESSAGES
        message = (
            REFUSAL_MESSAGES[key]
            if known
            else f"The server refused the request ({key or 'no reason given'})."
        )
        super().__init__(message)
        self.key = key
        self.response = response
        self.status = REFUSAL_HTTP_STATUS.get(key, 422)

    @property
    def outcome(self) -> str:
        """The server's result key."""
        return self.key or "Refused"

    def is_(self, *keys: RefusalKey) -> bool:
        """Whether the server's result key is one of ``keys``."""
        return self.key in keys
