"""A user's mailboxes over IMAP, as that user: SASL PLAIN with the operator's
own name and password and the user as authorization identity (pymap's
``authorize()``: an admin-role identity may act as anyone on dict and redis).

imaplib blocks; the panel's views are synchronous and run in request threads,
off the event loop. Every socket operation has the server's timeout. Lists
read headers only (BODY.PEEK[HEADER.FIELDS ...]); a body is read only for
the one message an operator opens (:meth:`Session.message`), with
BODY.PEEK[] in a mailbox opened with EXAMINE: never a flag change.
"""

from __future__ import annotations

import email.header
import email.utils
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

from adminpanel.lib.mail_credentials import MailCredentials
from adminpanel.lib.mail_service_errors import (
    MailAuthFailed,
    MailNotAuthorized,
    MailRefused,
    MailServiceError,
    MailServiceTimeout,
    MailServiceUnavailable,
)
from adminpanel.pymap.servers import PymapServer

#: How many of a mailbox's newest messages the panel shows.
NEWEST = 5
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.+)$')
_STATUS_ITEM = re.compile(rb"(MESSAGES|UNSEEN|UIDNEXT|UIDVALIDITY) (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class Mailbox:
    name: str
    messages: int
    unseen: int
    uid_next: int
    uid_validity: int
    selectable: bool = True


@dataclass(frozen=True)
class MessageHeaders:
    uid: int
    date: datetime | None
    sender: str
    subject: str


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    uid_validity: int
    #: The whole message's size (RFC822.SIZE).
    size: int
    #: The start of the message: at most the bytes asked for.
    raw: bytes


class Session:
    """One logged-in IMAP connection (from :func:`open_as`)."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self._imap = imap

    def mailboxes(self) -> list[Mailbox]:
        """Every mailbox with STATUS MESSAGES, UNSEEN, UIDNEXT, UIDVALIDITY."""
        found = []
        for line in self._ok(self._imap.list()):
            if not isinstance(line, bytes) or not (match := _LIST_LINE.match(line)):
                continue
            name = _unquote(match["name"])
            if b"\\noselect" in match["flags"].lower():
                found.append(Mailbox(name, 0, 0, 0, 0, selectable=False))
                continue
            status = self._ok(
                self._imap.status(_quote(name), "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
            )
            items = {k.decode(): int(v) for k, v in _STATUS_ITEM.findall(_first(status))}
            found.append(
                Mailbox(
                    name,
                    items.get("MESSAGES", 0),
                    items.get("UNSEEN", 0),
                    items.get("UIDNEXT", 0),
                    items.get("UIDVALIDITY", 0),
                )
            )
        return sorted(found, key=lambda box: (box.name != "INBOX", box.name.lower()))

    def newest(self, mailbox: str, count: int = NEWEST) -> list[MessageHeaders]:
        """The newest ``count`` messages' Date, From and Subject, read-only
        (EXAMINE, BODY.PEEK: no \\Seen is set)."""
        data = self._ok(self._imap.select(_quote(mailbox), readonly=True))
        total = int(_first(data) or b"0")
        if total == 0:
            return []
        first = max(1, total - count + 1)
        fetched = self._ok(
            self._imap.fetch(
                f"{first}:{total}", "(UID BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)])"
            )
        )
        found = []
        for part in fetched:
            if isinstance(part, tuple):
                uid = re.search(rb"UID (\d+)", part[0])
                found.append(_headers(int(uid[1]) if uid else 0, part[1]))
        with suppress(imaplib.IMAP4.error, OSError):
            self._imap.close()
        return sorted(found, key=lambda message: message.uid, reverse=True)

    def message(self, mailbox: str, uid: int, limit: int) -> FetchedMessage | None:
        """The first ``limit`` bytes of message ``uid``, read-only (EXAMINE,
        BODY.PEEK[]: no \\Seen is set); None if no message has this UID."""
        self._ok(self._imap.select(_quote(mailbox), readonly=True))
        validity = _first(list(self._imap.response("UIDVALIDITY")[1]))
        fetched = self._ok(
            self._imap.uid("FETCH", str(uid), f"(UID RFC822.SIZE BODY.PEEK[]<0.{limit}>)")
        )
        found = None
        for index, part in enumerate(fetched):
            if not isinstance(part, tuple):
                continue
            answered = re.search(rb"UID (\d+)", part[0])
            if answered is None or int(answered[1]) != uid:  # another message's FETCH
                continue
            # RFC822.SIZE may come before the literal or in the line's rest after it.
            after = fetched[index + 1] if index + 1 < len(fetched) else b""
            size = _SIZE.search(part[0] + (after if isinstance(after, bytes) else b""))
            found = FetchedMessage(
                uid, int(validity or b"0"), int(size[1]) if size else len(part[1]), part[1]
            )
        with suppress(imaplib.IMAP4.error, OSError):
            self._imap.close()
        return found

    def create(self, name: str) -> None:
        self._ok(self._imap.create(_quote(name)))

    def rename(self, old: str, new: str) -> None:
        self._ok(self._imap.rename(_quote(old), _quote(new)))

    def delete(self, name: str) -> None:
        self._ok(self._imap.delete(_quote(name)))

    def _ok(self, answer: tuple[str, Sequence[object]]) -> list[object]:
        kind, data = answer[0], list(answer[1])
        if kind != "OK":
            raise MailRefused(_text(data))
        return data


@contextmanager
def open_as(server: PymapServer, creds: MailCredentials, authzid: str) -> Iterator[Session]:
    """An IMAP session of ``authzid``, authenticated as ``creds.authcid``."""
    endpoint = server.imap
    if endpoint is None:
        raise MailServiceUnavailable("This server has no IMAP service configured for the panel.")
    imap: imaplib.IMAP4 | None = None
    try:
        try:
            if endpoint.security == "tls":
                imap = imaplib.IMAP4_SSL(
                    endpoint.host,
                    endpoint.port,
                    ssl_context=server.mail_ssl_context(),
                    timeout=server.timeout,
                )
            else:
                imap = imaplib.IMAP4(endpoint.host, endpoint.port, timeout=server.timeout)
                if endpoint.security == "starttls":
                    imap.starttls(server.mail_ssl_context())
            imap.authenticate("PLAIN", lambda _challenge: creds.plain(authzid))
        except imaplib.IMAP4.error as exc:
            raise _login_failure(str(exc)) from None
        yield Session(imap)
    except TimeoutError:
        raise MailServiceTimeout(
            f"The IMAP service at {endpoint.address} did not answer in time."
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise MailServiceUnavailable(
            f"The IMAP service at {endpoint.address} cannot be reached ({exc.__class__.__name__})."
        ) from None
    except imaplib.IMAP4.abort:
        raise MailServiceUnavailable(
            f"The IMAP service at {endpoint.address} ended the connection."
        ) from None
    except imaplib.IMAP4.error as exc:
        raise MailRefused(str(exc)) from None
    finally:
        if imap is not None:
            with suppress(imaplib.IMAP4.error, OSError):
                imap.logout()
            with suppress(OSError):
                imap.shutdown()


def _login_failure(text: str) -> MailServiceError:
    if "AUTHORIZATIONFAILED" in text:
        return MailNotAuthorized("The mail server refused to let you act as this user over IMAP.")
    if "NONEXISTENT" in text:
        return MailRefused("The mail server has no such user.")
    if "AUTHENTICATIONFAILED" in text:
        return MailAuthFailed("The mail server did not accept your name and password over IMAP.")
    return MailRefused(f"The IMAP service refused the sign-in: {text}")


def _quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string (modified UTF-7 is not needed:
    pymap takes UTF-8 names)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _first(data: list[object]) -> bytes:
    item = data[0] if data else b""
    return item if isinstance(item, bytes) else b""


def _text(data: list[object]) -> str:
    return (
        " ".join(item.decode("utf-8", "replace") for item in data if isinstance(item, bytes))
        or "refused"
    )


def _decoded(value: str | None) -> str:
    if not value:
        return ""
    return str(email.header.make_header(email.header.decode_header(value)))


def _headers(uid: int, raw: bytes) -> MessageHeaders:
    parsed = email.message_from_bytes(raw)
    date: datetime | None = None
    with suppress(TypeError, ValueError, IndexError):
        date = email.utils.parsedate_to_datetime(parsed.get("Date", ""))
    try:
        sender, subject = _decoded(parsed.get("From")), _decoded(parsed.get("Subject"))
    except (LookupError, UnicodeError, email.errors.HeaderParseError):
        sender, subject = str(parsed.get("From", "")), str(parsed.get("Subject", ""))
    return MessageHeaders(uid, date, sender, subject)
