"""Delivering one message through the form, against the real pymap, read back over IMAP."""

from __future__ import annotations

import imaplib
import re
import time
import uuid
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from ..support.mail import (
    DELIVER,
    as_stored,
    caps_of,
    fetch_all,
    flags_kept,
)
from ..support.mail_flow import CONFIRM, PREVIEW, checked, deliver, form, last_audit
from ..support.pymap_users import DEMO_USER, MakeUser, PymapUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


def test_typed_message_is_delivered_with_flags_and_date(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    text = "From: a@example.org\nSubject: Grüße\n\nHello there,\nbye.\n"
    html = deliver(
        client,
        form(
            owner.name,
            message_text=text,
            flags=["\\Seen", "\\Flagged"],
            keywords="$Label1 project-x",
            date="2021-03-04T05:06:07",
        ),
    )
    assert "2.0.0 Message delivered" in html
    assert "UID validity" in html
    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert stored.body == as_stored(pymap, text.replace("\n", "\r\n").encode("utf-8"))
    sent = {"\\Seen", "\\Flagged", "$Label1", "project-x"}
    assert stored.flags == flags_kept(pymap, sent)
    # What may have been dropped is said, not reported as kept.
    assert ("Keywords not confirmed" in html) == (stored.flags != sent)
    assert stored.internal_date == "04-Mar-2021 05:06:07 +0000"
    assert f"<dd>{stored.uid}</dd>" in html
    event = last_audit()
    assert (event.outcome, event.target) == ("ok", owner.name)
    assert f"uid={stored.uid}" in event.detail


def test_preview_shows_the_parsed_message_escaped(client: Client, owner: PymapUser) -> None:
    raw = (
        b"From: <script>alert(1)</script> <evil@example.org>\r\n"
        b"To: \xe2\x80\xaereversed@example.org\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9_<b>bold</b>?=\r\n"
        b"Date: Tue, 01 Jul 2003 10:52:37 +0200\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="<img src=x>.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )
    upload = SimpleUploadedFile("x.eml", raw)
    response = client.post(DELIVER, form(owner.name, message_file=upload))
    assert response.status_code == 302
    html = client.get(PREVIEW).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\u202ereversed@example.org" in html  # the bidi override is shown, not obeyed
    assert "café &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x&gt;.pdf" in html
    assert "application/pdf" in html
    assert "2003-07-01 08:52:37 UTC" in html
    assert f"{len(raw)} bytes" in html


def test_uploaded_binary_message_arrives_byte_for_byte(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    raw = (
        b"Subject: caf\xe9 latin-1\r\nX-Bare-LF: yes\n\r\n"
        b"\x00\x01\x02 binary \xff\xfe\xfd\r\nbare CR\rend\nlast line without newline"
    )
    html = deliver(client, form(owner.name, message_file=SimpleUploadedFile("b.eml", raw)))
    assert "2.0.0 Message delivered" in html
    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert stored.body == as_stored(pymap, raw)
    assert ("line endings were rewritten" in html) == (stored.body != raw)


def test_delivering_to_an_unknown_user_is_refused_and_stores_nothing(
    client: Client, admin: str, pymap: PymapProcess, pymap_user: MakeUser, imap_client: Imap
) -> None:
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    html = deliver(client, form(name, message_text="Subject: x\n\nbody\n"))
    assert "Not delivered" in html
    assert "There is no user" in html
    assert "UserNotFound" in html
    assert "2.0.0" not in html
    assert last_audit().outcome == "UserNotFound"
    # Nothing waits for a user of that name (redis would have stored it).
    later = pymap_user(name=name)
    assert fetch_all(imap_client(later.name, later.password)) == []


@pytest.mark.backends("dict")  # the demo user's mailboxes and sieve script
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown mailbox", "does not exist."),
        ("read-only mailbox", "is read-only"),
        ("append failure", "could not store the message"),
    ],
)
def test_server_refusals_are_explained(
    client: Client, admin: str, case: str, expected: str
) -> None:
    user, mailbox, subject = {
        "unknown mailbox": (DEMO_USER, "No Such Box", "x"),
        "read-only mailbox": (DEMO_USER, "Trash", "x"),
        # The demo user's sieve script rejects this subject.
        "append failure": (DEMO_USER, "INBOX", "reject this"),
    }[case]
    key = {
        "unknown mailbox": "MailboxNotFound",
        "read-only mailbox": "MailboxReadOnly",
        "append failure": "AppendFailure",
    }[case]
    html = deliver(
        client, form(user, mailbox=mailbox, message_text=f"Subject: {subject}\n\nbody\n")
    )
    assert "Not delivered" in html
    assert expected in html
    assert key in html
    assert "2.0.0" not in html
    assert last_audit().outcome == key


def test_an_unknown_mailbox_is_refused(client: Client, admin: str, pymap_user: MakeUser) -> None:
    target = pymap_user("mbox")
    html = deliver(
        client, form(target.name, mailbox="No Such Box", message_text="Subject: x\n\nbody\n")
    )
    assert "Not delivered" in html
    assert "does not exist." in html
    assert last_audit().outcome == "MailboxNotFound"


def test_delivering_to_another_user_without_admin_role_is_refused(
    client: Client, owner: PymapUser, pymap_user: MakeUser
) -> None:
    other = pymap_user("other")
    html = deliver(client, form(other.name, message_text="Subject: x\n\nbody\n"))
    assert "You may not deliver to" in html
    assert "AuthorizationFailure" in html
    assert last_audit().outcome == "AuthorizationFailure"


@pytest.mark.backends("dict")  # the demo user's sieve script
def test_message_discarded_by_the_users_filter(
    client: Client, admin: str, imap_client: Imap
) -> None:
    marker = uuid.uuid4().hex
    html = deliver(
        client,
        form(DEMO_USER, message_text=f"Subject: discard this\nMessage-ID: <{marker}@x>\n\nb\n"),
    )
    assert "Accepted, discarded by the user's filter" in html
    assert last_audit().outcome == "discarded"
    assert not any(marker.encode() in item.body for item in fetch_all(imap_client()))


def test_confirming_twice_delivers_once(
    client: Client, owner: PymapUser, imap_client: Imap
) -> None:
    assert client.post(DELIVER, form(owner.name, message_text="Subject: once\n\nb\n")).status_code
    assert client.post(CONFIRM).status_code == 302
    again = client.post(CONFIRM, follow=True)
    assert "already delivered or cancelled" in again.content.decode()
    assert len(fetch_all(imap_client(owner.name, owner.password))) == 1


def test_discarding_the_preview_sends_nothing(
    client: Client, owner: PymapUser, imap_client: Imap, mail_spool: Path
) -> None:
    client.post(DELIVER, form(owner.name, message_text="Subject: no\n\nb\n"))
    assert list((mail_spool / "pending").iterdir())
    client.post("/mail/deliver/cancel/")
    assert not list((mail_spool / "pending").iterdir())
    assert client.post(CONFIRM).status_code == 302
    assert fetch_all(imap_client(owner.name, owner.password)) == []


def test_changing_the_preview_keeps_the_typed_fields(client: Client, owner: PymapUser) -> None:
    client.post(
        DELIVER,
        form(owner.name, mailbox="INBOX", message_text="Subject: keep\n\nb\n", keywords="$K"),
    )
    html = client.get(DELIVER + "?edit=1").content.decode()
    assert "Subject: keep" in html
    assert 'value="$K"' in html


def test_a_deleted_operator_is_signed_out_at_confirmation(
    client: Client, owner: PymapUser, admin_token: str, pymap_server: PymapServer
) -> None:
    client.post(DELIVER, form(owner.name, message_text="Subject: x\n\nb\n"))
    service.delete_user(pymap_server, admin_token, owner.name)
    response = client.post(CONFIRM)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    assert last_audit().outcome == "InvalidAuth"


def test_the_form_starts_with_no_user_and_the_simple_fields(
    client: Client, owner: PymapUser
) -> None:
    html = client.get(DELIVER).content.decode()
    user = re.search(r'<input type="text" name="user"[^>]*>', html)
    assert user is not None
    assert "value=" not in user[0]  # nobody delivers to themselves by accident
    assert checked(html, "compose")  # "Write it here" first
    assert 'name="compose_from"' in html


def test_a_message_written_in_the_fields_arrives_as_rfc_5322(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    html = deliver(
        client,
        form(
            owner.name,
            source="compose",
            compose_from="Grüße Sender <sender@example.org>",
            compose_to="Alice <alice@example.org>, bob@example.org",
            compose_subject="Café <menu>",
            compose_body="Hello Alice,\r\n\r\nthe menu is attached in spirit.\r\n",
        ),
    )
    assert "2.0.0 Message delivered" in html
    [stored] = fetch_all(imap_client(owner.name, owner.password))
    parsed = BytesParser(policy=policy.default).parsebytes(stored.body)
    assert str(parsed["From"]) == "Grüße Sender <sender@example.org>"
    assert str(parsed["To"]) == "Alice <alice@example.org>, bob@example.org"
    assert str(parsed["Subject"]) == "Café <menu>"
    assert parsed["Date"].datetime.tzinfo is not None
    assert abs(parsed["Date"].datetime.timestamp() - time.time()) < 300
    assert re.fullmatch(r"<[^@<>\s]+@example\.org>", parsed["Message-ID"])
    assert parsed["MIME-Version"] == "1.0"
    assert parsed.get_content_type() == "text/plain"
    body = "Hello Alice,\r\n\r\nthe menu is attached in spirit.\r\n"
    if caps_of(pymap).keeps_line_endings:
        assert parsed.get_content() == body
        assert b"\n" not in stored.body.replace(b"\r\n", b"")  # CRLF throughout
    else:  # maildir stores every line ending as LF
        assert parsed.get_content() == body.replace("\r\n", "\n")
        assert b"\r" not in stored.body


def test_the_preview_shows_the_text_the_attachments_and_the_raw_source(
    client: Client, owner: PymapUser
) -> None:
    raw = (
        b"From: a@example.org\r\nSubject: with text\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Dear reader,\r\n<script>alert(1)</script> and \xe2\x80\xae reversed\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="report.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )
    response = client.post(DELIVER, form(owner.name, message_file=SimpleUploadedFile("t.eml", raw)))
    assert response.status_code == 302
    html = client.get(PREVIEW).content.decode()
    text = html[html.index('class="message-text"') : html.index("</pre>")]
    assert "Dear reader,\n&lt;script&gt;alert(1)&lt;/script&gt; and \\u202e reversed" in text
    assert "<script>alert" not in html
    assert "<td>report.pdf</td><td><code>application/pdf</code></td>" in html
    source = html[html.index("<details") : html.index("</details>")]
    assert "Raw source" in source
    assert "Content-Disposition: attachment; filename=&quot;report.pdf&quot;" in source
    assert f"<dd>{len(raw)} bytes</dd>" in html  # below 1 KB, said once


def _nested(depth: int) -> bytes:
    """A message whose parts nest ``depth`` levels deep (about 66 bytes a level)."""
    out = bytearray(b"From: a@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n")
    for level in range(depth):
        out += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
    out += b"Content-Type: text/plain\r\n\r\nthe innermost text\r\n"
    for level in reversed(range(depth)):
        out += b"--b%d--\r\n" % level
    return bytes(out)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_nested(1100), "more than 100 MIME parts"),
        (_nested(40), "nested more than 20 levels deep"),
        (
            b"Subject: wide\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            + b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" * 20_000
            + b"--b--\r\n",
            "more than 100 MIME parts",
        ),
    ],
    ids=["1100-nested", "40-nested", "20000-siblings"],
)
def test_deep_or_wide_mime_gives_a_partial_preview_that_says_why(
    client: Client, owner: PymapUser, raw: bytes, reason: str
) -> None:
    """1,100 nested parts (75 KB) used to exhaust the parser's recursion: a 500."""
    response = client.post(DELIVER, form(owner.name, message_file=SimpleUploadedFile("n.eml", raw)))
    assert response.status_code == 302
    page = client.get(PREVIEW)
    assert page.status_code == 200
    html = page.content.decode()
    assert "This preview is partial" in html
    assert reason in html
    assert "The whole message is delivered as it is." in html
    assert "<dd>nested</dd>" in html or "<dd>wide</dd>" in html


def test_after_not_delivered_edit_and_try_again_keeps_every_field(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    fields = form(
        owner.name,
        mailbox="No Such Box",
        source="compose",
        compose_from="sender@example.org",
        compose_to="someone@example.org",
        compose_subject="Second attempt",
        compose_body="Kept across the refusal.\r\n",
        flags=["\\Flagged"],
        keywords="$Retry",
    )
    html = deliver(client, fields)
    assert "Not delivered" in html
    assert "Edit and try again" in html
    again = client.get(DELIVER + "?edit=1").content.decode()
    for kept in (
        'value="No Such Box"',
        'value="sender@example.org"',
        'value="someone@example.org"',
        'value="Second attempt"',
        "Kept across the refusal.",
        'value="$Retry"',
    ):
        assert kept in again, kept
    assert checked(again, "\\Flagged")
    assert checked(again, "compose")
    html = deliver(client, {**fields, "mailbox": "INBOX"})
    assert "2.0.0 Message delivered" in html
    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert b"Subject: Second attempt" in stored.body
    assert stored.flags == flags_kept(pymap, {"\\Flagged", "$Retry"})


def test_an_uploaded_message_can_be_sent_again_without_uploading_it_again(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    raw = b"Subject: uploaded once\r\nX-Odd: \xff\r\n\r\nsent twice? no, once.\r\n"
    html = deliver(
        client,
        form(owner.name, mailbox="Missing", message_file=SimpleUploadedFile("once.eml", raw)),
    )
    assert "Not delivered" in html
    again = client.get(DELIVER + "?edit=1").content.decode()
    assert "The file uploaded before: once.eml" in again
    assert checked(again, "kept")
    html = deliver(client, form(owner.name, source="kept"))
    assert "2.0.0 Message delivered" in html
    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert stored.body == as_stored(pymap, raw)
