"""The dashboard's recent activity and the panel's version; the favicon."""

from __future__ import annotations

import importlib.metadata

import pytest
from django.test import Client

from adminpanel.audit.models import Action, AuditEvent
from adminpanel.mail.models import ImportJob
from adminpanel.pymap.servers import PymapServer

from .support.mail import DELIVER, message, run, upload
from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import MakeUser, PymapUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]


def _failed_sign_in(client: Client, name: str) -> None:
    client.post(SIGN_IN, {"method": "password", "username": name, "password": "wrong"})


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_recent_changes_imports_and_failed_sign_ins(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = pymap_user("dash-admin", roles=["admin"])
    _failed_sign_in(Client(), "intruder")
    sign_in(client, admin)
    target = pymap_user("dash-target")
    client.post(
        DELIVER,
        {"user": target.name, "mailbox": "INBOX", "source": "raw", "message_text": "S: x\n\nb\n"},
    )
    client.post("/mail/deliver/confirm/")
    job = run(_import(client, admin))
    html = client.get("/").content.decode()
    assert "Recent activity" in html
    assert f'Deliver message\n          <a href="/users/user/?name={target.name}">' in html
    assert f'<a href="/mail/import/{job.pk}/">#{job.pk} into {admin.name} / INBOX</a>' in html
    assert "Finished" in html
    assert "1 failed sign-in</a>" in html
    assert "intruder" in html
    assert 'href="/audit/?action=sign-in&amp;outcome=not-ok"' in html
    version = importlib.metadata.version("pymap-adminpanel")
    assert f"<dt>This panel's version</dt><dd>{version}</dd>" in html


def _import(client: Client, user: PymapUser) -> ImportJob:
    response = upload(client, user.name, [("one.eml", message(1))])
    assert response.status_code == 302
    return ImportJob.objects.get()


def test_an_operator_without_the_admin_role_sees_only_their_own(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    plain = pymap_user("dash-plain")
    AuditEvent.objects.create(
        operator="someone-else",
        action=Action.USER_EDIT,
        server=pymap_server.name,
        outcome="ok",
        target="target-of-someone-else",
    )
    _failed_sign_in(Client(), "someone-else")
    sign_in(client, plain)
    html = client.get("/").content.decode()
    assert "target-of-someone-else" not in html
    assert "someone-else" not in html
    assert "None yet." in html


def test_every_page_names_the_icon_and_the_root_serves_one(client: Client) -> None:
    page = client.get(SIGN_IN).content.decode()
    assert '<link rel="icon" href="/static/panel/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
