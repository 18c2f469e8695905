"""Helpers for the mail tests: signing in, making messages and mboxes, reading
mailboxes back over IMAP, and running the import worker in-process."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker

from adminpanel.mail import tasks
from adminpanel.mail.models import ImportJob
from adminpanel.pymap import backends
from adminpanel.pymap.backends import Capabilities
from devtools.pymap_process import PymapProcess

from .panel_client import SIGN_IN as SIGN_IN  # re-exported for the mail tests
from .panel_client import sign_in as sign_in

DELIVER = "/mail/deliver/"
IMPORT = "/mail/import/"

_FETCH_HEAD = re.compile(
    rb"UID (?P<uid>\d+) FLAGS \((?P<flags>[^)]*)\) INTERNALDATE \"(?P<date>[^\"]+)\""
)


def message(index: int, *, body: bytes = b"", tag: str = "t") -> bytes:
    """A small distinct message whose Message-ID names its position."""
    return (
        b"From: Sender <sender@example.org>\r\n"
        b"To: someone@example.org\r\n"
        b"Subject: message %d\r\n"
        b"Message-ID: <%d.%s@example.org>\r\n"
        b"Date: Mon, 03 Feb 2020 10:%02d:00 +0000\r\n"
        b"\r\n"
        b"Body of message %d.\r\n%s" % (index, index, tag.encode(), index % 60, index, body)
    )


def mbox_bytes(messages: Iterable[bytes]) -> bytes:
    """An mbox as mail clients write it: a From_ line before each message and
    an empty line after it (the messages here contain no From_ lines)."""
    out = bytearray()
    for data in messages:
        out += b"From sender@example.org Mon Feb  3 10:00:00 2020\n"
        out += data
        if not data.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    return bytes(out)


@dataclass(frozen=True)
class Fetched:
    uid: int
    flags: frozenset[str]
    internal_date: str
    body: bytes


def fetch_all(client: imaplib.IMAP4, mailbox: str = "INBOX") -> list[Fetched]:
    """Every message of ``mailbox`` in UID order, as stored (BODY.PEEK[])."""
    status, _ = client.select(mailbox, readonly=True)
    assert status == "OK"
    status, data = client.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    assert status == "OK"
    found: list[Fetched] = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        match = _FETCH_HEAD.search(head)
        assert match is not None, head
        flags = frozenset(match["flags"].decode().split()) - {"\\Recent"}
        found.append(Fetched(int(match["uid"]), flags, match["date"].decode(), body))
    return sorted(found, key=lambda item: item.uid)


def run_worker_once() -> None:
    """What ``manage.py db_worker --batch`` does, in this process (without its
    signal handlers): run every queued task, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def upload(client: Client, user: str, files: Sequence[tuple[str, bytes]], **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data: dict[str, Any] = {
        "user": user,
        "mailbox": "INBOX",
        "date_source": "header",
        "keywords": "",
        "archive_flags": "on",  # checked, as the form starts
        **fields,
    }
    data["upload"] = [SimpleUploadedFile(name, content) for name, content in files]
    return client.post(IMPORT, data)


def caps_of(pymap: PymapProcess) -> Capabilities:
    """What the panel believes the session server's backend does; tests compare
    it with what the server really kept (over IMAP), so a wrong belief fails."""
    return backends.capabilities({backends.Backend(pymap.backend)})


def as_stored(pymap: PymapProcess, data: bytes) -> bytes:
    """``data`` as the backend stores it: maildir rewrites CRLF and CR as LF."""
    if caps_of(pymap).keeps_line_endings:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def flags_kept(pymap: PymapProcess, flags: Iterable[str]) -> frozenset[str]:
    """The flags the backend keeps: maildir drops keywords (no dovecot-keywords)."""
    if caps_of(pymap).keeps_keywords:
        return frozenset(flags)
    return frozenset(flag for flag in flags if flag.startswith("\\"))


def run(job: ImportJob) -> ImportJob:
    """Run the job's task in this process, as a worker would."""
    tasks.run_import.call(job.pk)
    job.refresh_from_db()
    return job
