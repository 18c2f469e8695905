"""The writes of the mailbox pages: opening mail access, and creating,
renaming and deleting a user's mailbox over IMAP, each audited; and opening
one message, audited too since it reads the user's mail.

Reads (the list, the newest headers) are here too, so that views call one
function and catch one error family (lib/mail_service_errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts import mail_access, password_check
from adminpanel.accounts.acting import Acting
from adminpanel.accounts.mail_access import MailCredentials
from adminpanel.audit.record import OK, Action, record
from adminpanel.imap import client
from adminpanel.lib.mail_service_errors import MailServiceError
from adminpanel.mail.preview import MessagePreview, preview

#: Bytes of an opened message read from the server: its headers and text are
#: at the start; parts past it (large attachments) are not listed.
OPEN_LIMIT = 1024 * 1024


class WrongOwnPassword(Exception):
    """pymap did not accept the operator's own password."""


@dataclass(frozen=True)
class OpenedMessage:
    message: client.FetchedMessage
    #: What the deliver form's preview shows of it, fit to show.
    shown: MessagePreview


@sensitive_variables("password")
def open_mail_access(acting: Acting, password: str) -> MailCredentials:
    """Check the operator's own password against pymap: the credentials of
    its window, for the view to keep in the session (accounts/mail_access.keep).
    Raises :class:`WrongOwnPassword`, the throttle's SignInThrottled, or the
    service's errors."""
    operator = acting.operator
    assert operator.name is not None
    if not password_check.is_current(acting, operator.name, password, field="password"):
        record(acting, Action.MAIL_ACCESS_OPEN, target=operator.name, outcome="InvalidAuth")
        raise WrongOwnPassword
    credentials = mail_access.window(operator, password)
    record(
        acting,
        Action.MAIL_ACCESS_OPEN,
        target=operator.name,
        detail=f"for {mail_access.seconds()} s",
    )
    return credentials


def list_mailboxes(acting: Acting, creds: MailCredentials, user: str) -> list[client.Mailbox]:
    with client.open_as(acting.server, creds, user) as imap:
        return imap.mailboxes()


def newest_messages(
    acting: Acting, creds: MailCredentials, user: str, mailbox: str
) -> list[client.MessageHeaders]:
    with client.open_as(acting.server, creds, user) as imap:
        return imap.newest(mailbox)


def open_message(
    acting: Acting, creds: MailCredentials, user: str, mailbox: str, uid: int
) -> OpenedMessage | None:
    """Read message ``uid`` of ``user``'s ``mailbox`` (the first
    :data:`OPEN_LIMIT` bytes, leaving its flags as they are), audited whatever
    the outcome; None if the mailbox has no such UID."""
    detail = f"mailbox {mailbox!r} UID {uid}"
    try:
        with client.open_as(acting.server, creds, user) as imap:
            fetched = imap.message(mailbox, uid, OPEN_LIMIT)
    except MailServiceError as exc:
        record(acting, Action.MESSAGE_OPEN, target=user, outcome=type(exc).__name__, detail=detail)
        raise
    if fetched is None:
        record(acting, Action.MESSAGE_OPEN, target=user, outcome="NoSuchMessage", detail=detail)
        return None
    detail += f" (UIDVALIDITY {fetched.uid_validity})"
    record(acting, Action.MESSAGE_OPEN, target=user, outcome=OK, detail=detail)
    return OpenedMessage(fetched, preview(fetched.raw))


def create_mailbox(acting: Acting, creds: MailCredentials, user: str, name: str) -> None:
    _write(acting, creds, user, Action.MAILBOX_CREATE, f"mailbox {name!r}", "create", name)


def rename_mailbox(acting: Acting, creds: MailCredentials, user: str, old: str, new: str) -> None:
    _write(
        acting,
        creds,
        user,
        Action.MAILBOX_RENAME,
        f"mailbox {old!r} to {new!r}",
        "rename",
        old,
        new,
    )


def delete_mailbox(acting: Acting, creds: MailCredentials, user: str, name: str) -> None:
    _write(acting, creds, user, Action.MAILBOX_DELETE, f"mailbox {name!r}", "delete", name)


def _write(
    acting: Acting,
    creds: MailCredentials,
    user: str,
    action: Action,
    detail: str,
    command: str,
    *names: str,
) -> None:
    """One IMAP write as ``user``, and its audit record whatever the outcome."""
    try:
        with client.open_as(acting.server, creds, user) as imap:
            getattr(imap, command)(*names)
    except MailServiceError as exc:
        record(acting, action, target=user, outcome=type(exc).__name__, detail=detail)
        raise
    record(acting, action, target=user, outcome=OK, detail=detail)
