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
