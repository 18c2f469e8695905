"""The writes of the filter pages over ManageSieve, each audited: save a
script (CHECKSCRIPT first, then PUTSCRIPT, optionally SETACTIVE, then read
back), activate, delete; and "Try it", a delivery through Append that runs
the active script, read back over IMAP."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.mail_access import MailCredentials
from adminpanel.audit.record import OK, Action, record
from adminpanel.imap import client as imap_client
from adminpanel.lib.mail_service_errors import MailServiceError
from adminpanel.mail import actions as mail_actions
from adminpanel.sieve import client
from adminpanel.sieve.client import Scripts


class ScriptInvalid(Exception):
    """CHECKSCRIPT refused the script; ``message`` is the server's text and
    ``line`` the line it names, if any."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = _line_of(message)


class NotKept(Exception):
    """The server answered OK but the script read back is not what was sent."""


def _line_of(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found[1]) if found else None


def _same(script: str) -> str:
    """A script as compared after a save: pymap hands it back without its
    last line break, and sievelib's GETSCRIPT with CRLF line ends."""
    return script.replace("\r\n", "\n").rstrip("\n")


def list_scripts(acting: Acting, creds: MailCredentials) -> Scripts:
    with client.open_as(acting.server, creds) as sieve:
        return sieve.scripts()


def read_script(acting: Acting, creds: MailCredentials, name: str) -> str | None:
    with client.open_as(acting.server, creds) as sieve:
        return sieve.get(name)


def save_script(
    acting: Acting, creds: MailCredentials, name: str, content: str, *, activate: bool
) -> None:
    """CHECKSCRIPT, PUTSCRIPT, SETACTIVE if asked, and GETSCRIPT to confirm.

    A refused check changes nothing (the active script stays as it was)."""
    detail = f"script {name!r}" + (" (activated)" if activate else "")
    try:
        with client.open_as(acting.server, creds) as sieve:
            error = sieve.check(content)
            if error is not None:
                raise ScriptInvalid(error)
            sieve.put(name, content)
            if activate:
                sieve.activate(name)
            kept = sieve.get(name)
            if kept is None or _same(kept) != _same(content):
                raise NotKept
    except ScriptInvalid:
        record(
            acting,
            Action.FILTER_SAVE,
            target=creds.authcid,
            outcome="ScriptInvalid",
            detail=detail,
        )
        raise
    except NotKept:
        record(
            acting,
            Action.FILTER_SAVE,
            target=creds.authcid,
            outcome="NotKept",
            detail=detail,
        )
        raise
    except MailServiceError as exc:
        record(
            acting,
            Action.FILTER_SAVE,
            target=creds.authcid,
            outcome=type(exc).__name__,
            detail=detail,
        )
        raise
    record(acting, Action.FILTER_SAVE, target=creds.authcid, outcome=OK, detail=detail)


def activate_script(acting: Acting, creds: MailCredentials, name: str) -> None:
    """SETACTIVE ``name`` ("" deactivates every script)."""
    _write(acting, creds, Action.FILTER_ACTIVATE, f"script {name!r}", "activate", name)


def delete_script(acting: Acting, creds: MailCredentials, name: str) -> None:
    _write(acting, creds, Action.FILTER_DELETE, f"script {name!r}", "delete", name)


def _write(
    acting: Acting, creds: MailCredentials, action: Action, detail: str, command: str, name: str
) -> None:
    try:
        with client.open_as(acting.server, creds) as sieve:
            getattr(sieve, command)(name)
    except MailServiceError as exc:
        record(acting, action, target=creds.authcid, outcome=type(exc).__name__, detail=detail)
        raise
    record(acting, action, target=creds.authcid, outcome=OK, detail=detail)


@dataclass(frozen=True)
class TryResult:
    delivery: mail_actions.DeliveryResult
    #: The mailbox IMAP shows the message in (None: not found, or discarded).
    seen_in: str | None


def try_message(acting: Acting, creds: MailCredentials, message: bytes) -> TryResult:
    """Deliver ``message`` to the operator's own INBOX through Append (pymap
    runs the active script on it; audited as a delivery) and look for it over
    IMAP where the server says it landed."""
    user = creds.authcid
    result = mail_actions.deliver(
        acting,
        mail_actions.Delivery(user, "INBOX", message, None, None, [], None),
    )
    seen_in = None
    if result.status == "delivered" and result.uid is not None:
        try:
            with imap_client.open_as(acting.server, creds, user) as imap:
                if any(m.uid == result.uid for m in imap.newest(result.mailbox, 50)):
                    seen_in = result.mailbox
        except MailServiceError:
            seen_in = None  # the page says IMAP could not confirm it
    return TryResult(result, seen_in)
