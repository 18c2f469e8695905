"""What can go wrong when the panel speaks IMAP or ManageSieve as a user.

Each error's ``message`` is safe to show; ``http_status`` suits a page, as
the admin service's errors do (503 unreachable, 504 timeout).
"""

from __future__ import annotations


class MailServiceError(Exception):
    http_status = 502

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MailServiceUnavailable(MailServiceError):
    http_status = 503


class MailServiceTimeout(MailServiceError):
    http_status = 504


class MailAuthFailed(MailServiceError):
    """The operator's name and password were not accepted."""

    http_status = 403


class MailNotAuthorized(MailServiceError):
    """The operator may not act as that user (pymap's AuthorizationFailure)."""

    http_status = 403


class MailRefused(MailServiceError):
    """The server answered NO (or BAD) to a command; the message is its text."""

    http_status = 422
