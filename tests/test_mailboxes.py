"""A user's mailboxes over IMAP from the user page, against real pymap
servers: what IMAP reports, create/rename/delete checked with imaplib, the
operator's own password window, and the backends' refusals."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from .support.mail_access import open_access, with_mail_services
from .support.pymap_users import MakeUser, PymapUser
from .support.users import page, sign_in, signed_in_admin, user_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_server(pymap: PymapProcess, settings: SettingsWrapper) -> PymapServer:
    server = with_mail_services(pymap)
    settings.PYMAP_SERVER = server
    return server


def _admin(client: Client, pymap_user: MakeUser) -> PymapUser:
    admin = pymap_user("mailadmin", roles=["admin"])
    sign_in(client, admin)
    return admin


def _names(imap: imaplib.IMAP4) -> bytes:
    """The LIST answer, as imaplib gives it, in one line."""
    return b" ".join(line for line in imap.list()[1] if isinstance(line, bytes))


def _mailbox_url(view: str, user: str, mailbox: str) -> str:
    from urllib.parse import urlencode

    from django.urls import reverse

    return f"{reverse(view)}?{urlencode({'name': user, 'mailbox': mailbox})}"


@pytest.mark.backends("dict", "redis")
def test_the_list_shows_the_counts_imap_reports(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    imap_client: Callable[..., imaplib.IMAP4],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    for subject in ("first", "second"):
        service.append(
            mail_server,
            pymap_user.creator.token,
            target.name,
            f"From: a@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n".encode(),
        )
    imap = imap_client(target.name, target.password)
    imap.create("Archive")
    status = imap.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")[1][0].decode()

    first = client.get(user_url("mailboxes:list", target.name))
    assert first.status_code == 302
    assert "/mailboxes/unlock/" in first["Location"]
    unlock = client.get(first["Location"])
    assert "your own" in page(unlock).lower()
    assert 'type="password"' in page(unlock)
    response = client.post(first["Location"], {"password": admin.password})
    assert response.status_code == 302
    listing = page(client.get(response["Location"]))
    user_page = page(client.get(user_url("users:detail", target.name)))
    assert ">Mailboxes</a>" in user_page
    assert "ignores the authorization identity" in user_page  # filters: another user
    uidnext = status.split("UIDNEXT ")[1].split()[0].rstrip(")")
    uidvalidity = status.split("UIDVALIDITY ")[1].split()[0].rstrip(")")
    assert "<td>2</td><td>2</td>" in listing  # 2 messages, both unseen
    assert f"<td>{uidnext}</td><td>{uidvalidity}</td>" in listing
    assert ">Archive</a>" in listing
    newest = page(client.get(_mailbox_url("mailboxes:detail", target.name, "INBOX")))
    assert "second" in newest
    assert "first" in newest
    assert "a@example.org" in newest
    # Headers only, read-only: nothing was marked as seen.
    assert "UNSEEN 2" in imap.status("INBOX", "(UNSEEN)")[1][0].decode()
    assert admin.password not in listing + newest + page(unlock)
    assert admin.password not in caplog.text
    event = AuditEvent.objects.get(action="mail-access-open")
    assert (event.target, event.outcome) == (admin.name, "ok")


@pytest.mark.backends("dict", "redis")
def test_create_rename_delete_are_confirmed_audited_and_seen_over_imap(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    imap_client: Callable[..., imaplib.IMAP4],
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    open_access(client, admin, target.name)
    imap = imap_client(target.name, target.password)

    created = client.post(user_url("mailboxes:create", target.name), {"mailbox": "Projects"})
    assert created.status_code == 302
    assert b"Projects" in _names(imap)

    confirm = client.get(_mailbox_url("mailboxes:rename", target.name, "Projects"))
    assert confirm.status_code == 200
    assert "New name" in page(confirm)
    renamed = client.post(
        _mailbox_url("mailboxes:rename", target.name, "Projects"), {"new_name": "Done"}
    )
    assert renamed.status_code == 302
    names = _names(imap)
    assert b"Done" in names
    assert b"Projects" not in names

    assert client.get(_mailbox_url("mailboxes:delete", target.name, "Done")).status_code == 200
    assert b"Done" in _names(imap)  # the confirmation page deleted nothing
    deleted = client.post(_mailbox_url("mailboxes:delete", target.name, "Done"))
    assert deleted.status_code == 302
    assert b"Done" not in _names(imap)

    events = AuditEvent.objects.filter(target=target.name).order_by("created_at")
    assert [(e.action, e.outcome) for e in events] == [
        ("mailbox-create", "ok"),
        ("mailbox-rename", "ok"),
        ("mailbox-delete", "ok"),
    ]
    assert events[1].detail == "mailbox 'Projects' to 'Done'"


@pytest.mark.backends("dict")
def test_a_refused_create_says_the_servers_words_and_is_audited(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    open_access(client, admin, target.name)
    assert (
        client.post(user_url("mailboxes:create", target.name), {"mailbox": "Twice"}).status_code
        == 302
    )
    again = client.post(user_url("mailboxes:create", target.name), {"mailbox": "Twice"})
    assert again.status_code == 422
    assert "The mail server refused" in page(again)
    assert "Nothing was created" in page(again)
    outcomes = list(
        AuditEvent.objects.filter(action="mailbox-create").values_list("outcome", flat=True)
    )
    assert sorted(outcomes) == ["MailRefused", "ok"]


@pytest.mark.backends("dict")
def test_a_wrong_own_password_is_refused_and_opens_nothing(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    _admin(client, pymap_user)
    target = pymap_user("mailowner")
    wrong = client.post(user_url("mailboxes:unlock", target.name), {"password": "not-it"})
    assert wrong.status_code == 403
    assert "did not accept this password" in page(wrong)
    assert client.get(user_url("mailboxes:list", target.name)).status_code == 302
    assert AuditEvent.objects.get(action="mail-access-open").outcome == "InvalidAuth"


@pytest.mark.backends("dict")
def test_the_window_ends_after_panel_mail_access_seconds(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser, settings: SettingsWrapper
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    settings.PANEL_MAIL_ACCESS_SECONDS = -1  # already over when granted
    open_access(client, admin, target.name)
    again = client.get(user_url("mailboxes:list", target.name))
    assert again.status_code == 302
    assert "/mailboxes/unlock/" in again["Location"]
    stored = str(dict(client.session.items()))
    assert admin.password not in stored  # sealed, never in clear


@pytest.mark.backends("maildir")
def test_maildir_says_an_admin_user_cannot_read_others_mail_and_asks_nothing(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    _admin(client, pymap_user)
    target = pymap_user("mailowner")
    response = client.get(user_url("mailboxes:list", target.name))
    assert response.status_code == 403
    assert "only the admin token" in page(response)
    assert 'type="password"' not in page(response)
    # (The user page itself is refused there: GetUser answers AuthorizationFailure.)


@pytest.mark.backends("maildir")
def test_maildir_users_read_their_own_mailboxes(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    own = pymap_user("self")
    sign_in(client, own)
    open_access(client, own, own.name)
    listing = client.get(user_url("mailboxes:list", own.name))
    assert listing.status_code == 200
    assert ">INBOX</a>" in page(listing)


def test_the_admin_token_is_told_why_a_password_sign_in_is_needed(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    from .support.users import write_session

    write_session(client, mail_server, token=admin_token, name=None, admin=True, admin_token=True)
    target = pymap_user("mailowner")
    response = client.get(user_url("mailboxes:list", target.name))
    assert response.status_code == 403
    assert "never a token" in page(response)


@pytest.mark.backends("dict")
def test_without_an_imap_address_the_page_says_how_to_configure_it(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("mailowner")
    response = client.get(user_url("mailboxes:list", target.name))
    assert response.status_code == 403
    assert "PYMAP_IMAP_HOST" in page(response)


@pytest.mark.backends("dict")
def test_an_unreachable_imap_service_is_a_503_page(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    settings: SettingsWrapper,
    taken_port: int,
) -> None:
    import dataclasses

    from adminpanel.pymap.servers import MailEndpoint

    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    open_access(client, admin, target.name)
    settings.PYMAP_SERVER = dataclasses.replace(
        mail_server, imap=MailEndpoint("127.0.0.1", 1, "none")
    )
    response = client.get(user_url("mailboxes:list", target.name))
    assert response.status_code == 503
    assert "cannot be reached" in page(response)


@pytest.mark.backends("dict")
@pytest.mark.parametrize("service", ["mailboxes", "filters"])
def test_a_mail_service_that_never_answers_is_a_504_page(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    settings: SettingsWrapper,
    taken_port: int,
    service: str,
) -> None:
    """The listener accepts the connection (backlog) and never sends a greeting."""
    import dataclasses

    from adminpanel.pymap.servers import MailEndpoint

    own = pymap_user("self", roles=["admin"])
    sign_in(client, own)
    open_access(client, own, own.name)
    silent = MailEndpoint("127.0.0.1", taken_port, "none")
    settings.PYMAP_SERVER = dataclasses.replace(
        mail_server, timeout=0.3, imap=silent, managesieve=silent
    )
    response = client.get(user_url(f"{service}:list", own.name))
    assert response.status_code == 504
    assert "did not answer in time" in page(response)


def test_credentials_never_show_the_password_in_their_repr() -> None:
    from adminpanel.lib.mail_credentials import MailCredentials

    creds = MailCredentials("op", "s3cret-pass", 0.0)
    assert "s3cret-pass" not in repr(creds)
    assert creds.plain("user") == b"user\0op\0s3cret-pass"


@pytest.mark.backends("dict")
def test_a_session_acting_as_another_user_is_told_why_not(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = pymap_user("mailadmin", roles=["admin"])
    other = pymap_user("actedas")
    sign_in(client, admin, act_as=other.name)
    listing = client.get(user_url("mailboxes:list", other.name))
    assert listing.status_code == 403
    assert "acting as" in page(listing)
    assert 'type="password"' not in page(listing)


def _deliver(server: PymapServer, pymap_user: MakeUser, user: str, raw: bytes) -> int:
    """Append ``raw`` to ``user``'s INBOX through the admin API: its UID."""
    result = service.append(server, pymap_user.creator.token, user, raw)
    assert result.uid is not None
    return result.uid


def _imap_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every IMAP command the panel sends from now on, as text."""
    sent: list[str] = []
    original = imaplib.IMAP4._command  # type: ignore[attr-defined]

    def spy(self: imaplib.IMAP4, name: str, *args: object) -> object:
        sent.append(" ".join([name, *(str(arg) for arg in args)]))
        return original(self, name, *args)

    monkeypatch.setattr(imaplib.IMAP4, "_command", spy)
    return sent


def _flags(imap: imaplib.IMAP4, uid: int) -> str:
    imap.select("INBOX", readonly=True)
    answer = imap.uid("FETCH", str(uid), "(FLAGS)")[1]
    return b" ".join(part for part in answer if isinstance(part, bytes)).decode()


@pytest.mark.backends("dict", "redis")
def test_an_opened_message_is_shown_escaped_left_unseen_and_audited(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    imap_client: Callable[..., imaplib.IMAP4],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    uid = _deliver(
        mail_server,
        pymap_user,
        target.name,
        b"From: eve@example.org\r\nTo: mailowner@example.org\r\n"
        b"Subject: Quarterly <b>report</b>\r\n\r\n"
        b"Dear owner,\r\n<script>alert('opened')</script>\r\nbody-marker\r\n",
    )
    imap = imap_client(target.name, target.password)
    open_access(client, admin, target.name)

    sent = _imap_commands(monkeypatch)
    listing = client.get(_mailbox_url("mailboxes:detail", target.name, "INBOX"))
    assert listing.status_code == 200
    fetches = [command for command in sent if "FETCH" in command.upper()]
    assert fetches
    assert all("HEADER.FIELDS" in command and "BODY.PEEK[]" not in command for command in fetches)
    assert "body-marker" not in page(listing)
    assert f"uid={uid}" in page(listing)
    assert not AuditEvent.objects.filter(action="mailbox-message-open").exists()

    sent.clear()
    response = client.get(f"{_mailbox_url('mailboxes:message', target.name, 'INBOX')}&uid={uid}")
    assert response.status_code == 200
    html = page(response)
    assert "no-store" in response["Cache-Control"]
    assert any("BODY.PEEK[]<0." in command for command in sent)
    assert "Quarterly &lt;b&gt;report&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(&#x27;opened&#x27;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "body-marker" in html
    assert "eve@example.org" in html

    # Read with EXAMINE and BODY.PEEK[]: the message is still unseen.
    assert "\\Seen" not in _flags(imap, uid)
    assert "UNSEEN 1" in imap.status("INBOX", "(UNSEEN)")[1][0].decode()
    event = AuditEvent.objects.get(action="mailbox-message-open")
    assert (event.target, event.outcome) == (target.name, "ok")
    assert event.detail.startswith(f"mailbox 'INBOX' UID {uid} (UIDVALIDITY ")


@pytest.mark.backends("dict")
def test_an_html_only_latin1_message_is_shown_as_source_and_a_big_one_is_cut(
    client: Client,
    mail_server: PymapServer,
    pymap_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adminpanel.mailboxes import actions

    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    uid = _deliver(
        mail_server,
        pymap_user,
        target.name,
        b"From: a@example.org\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
        b"<p>caf\xe9 <img src=x onerror=alert(1)></p>\r\n" + b"filler line\r\n" * 50,
    )
    open_access(client, admin, target.name)
    url = f"{_mailbox_url('mailboxes:message', target.name, 'INBOX')}&uid={uid}"
    html = page(client.get(url))
    assert "its HTML part is shown as source" in html
    assert "&lt;p&gt;café &lt;img src=x onerror=alert(1)&gt;&lt;/p&gt;" in html
    assert "<img" not in html
    assert "only its first" not in html

    monkeypatch.setattr(actions, "OPEN_LIMIT", 200)
    cut = page(client.get(url))
    assert "only its first 200 bytes were read" in cut
    assert "filler line" in cut  # the start is still shown


@pytest.mark.backends("dict")
def test_a_missing_uid_is_404_a_bad_one_400_and_the_gate_applies(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    uid = _deliver(mail_server, pymap_user, target.name, b"Subject: only\r\n\r\nbody\r\n")
    base = _mailbox_url("mailboxes:message", target.name, "INBOX")

    locked = client.get(f"{base}&uid={uid}")
    assert locked.status_code == 302
    assert "/mailboxes/unlock/" in locked["Location"]
    assert not AuditEvent.objects.filter(action="mailbox-message-open").exists()

    open_access(client, admin, target.name)
    missing = client.get(f"{base}&uid={uid + 1000}")
    assert missing.status_code == 404
    assert f"INBOX has no message with UID {uid + 1000}" in page(missing)
    for bad in ("", "abc", "0", "-1", "1:*", "4294967296", "\u0661", "9" * 5000):
        response = client.get(f"{base}&uid={bad}")
        assert response.status_code == 400, bad
        assert "a mailbox and a UID are needed" in page(response)
    no_box = client.get(_mailbox_url("mailboxes:message", target.name, "Nowhere") + "&uid=1")
    assert no_box.status_code == 404
    assert "cannot open this mailbox" in page(no_box)
    outcomes = AuditEvent.objects.filter(action="mailbox-message-open").values_list(
        "outcome", flat=True
    )
    assert sorted(outcomes) == ["MailRefused", "NoSuchMessage"]


@pytest.mark.backends("maildir")
def test_maildir_refuses_opening_another_users_message_and_opens_ones_own(
    client: Client, mail_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = _admin(client, pymap_user)
    target = pymap_user("mailowner")
    uid = _deliver(mail_server, pymap_user, target.name, b"Subject: theirs\r\n\r\nsecret\r\n")
    refused = client.get(f"{_mailbox_url('mailboxes:message', target.name, 'INBOX')}&uid={uid}")
    assert refused.status_code == 403
    assert "secret" not in page(refused)
    own = _deliver(mail_server, pymap_user, admin.name, b"Subject: mine\r\n\r\nown-text\r\n")
    open_access(client, admin, admin.name)
    mine = client.get(f"{_mailbox_url('mailboxes:message', admin.name, 'INBOX')}&uid={own}")
    assert mine.status_code == 200
    assert "own-text" in page(mine)
