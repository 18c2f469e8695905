"""Identities in the audit log are structures, never display labels (issue 17, point 6).

pymap accepts user names with spaces (the panel's forms do not, but a login
token for such a user can be pasted), so a user literally named ``admin
token`` once became the panel's "admin token" identity: it saw the admin
token's audit events. These run against the real pymap.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import StreamingHttpResponse
from django.test import Client

from adminpanel.accounts.identity import ADMIN_TOKEN, Identity, IdentityKind, parse_legacy_label
from adminpanel.audit.models import Action, AuditEvent
from adminpanel.mail.models import ImportJob
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import MakeUser, make_user

pytestmark = pytest.mark.django_db

ADMIN_ADDRESS = "203.0.113.9"
AUDIT_JSON = "/audit/export.json"


def paste(client: Client, token: str, **extra: str) -> Any:
    response = client.post(SIGN_IN, {"method": "token", "token": token, **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def exported(client: Client) -> list[dict[str, Any]]:
    response = client.get(AUDIT_JSON)
    assert isinstance(response, StreamingHttpResponse)
    events: list[dict[str, Any]] = json.loads(response.getvalue())
    return events


@pytest.fixture
def user_named_admin_token(pymap_server: PymapServer, admin_login_token: str) -> str:
    """A login token of a pymap user literally named "admin token" (on the
    shared server, so made once: the name cannot be unique)."""
    password = secrets.token_urlsafe(12)
    try:
        make_user(pymap_server, admin_login_token, "admin token", password)
    except Refused:
        service.set_user(
            pymap_server,
            admin_login_token,
            "admin token",
            password=password,
            previous_entity_tag=service.get_user(
                pymap_server, admin_login_token, "admin token"
            ).entity_tag,
        )
    return service.login(pymap_server, "admin token", password=password)


def test_a_user_named_admin_token_sees_nothing_of_the_admin_tokens(
    pymap_server: PymapServer, admin_token: str, user_named_admin_token: str
) -> None:
    admin = Client(REMOTE_ADDR=ADMIN_ADDRESS)
    paste(admin, admin_token)
    admin.post("/accounts/sign-out/")
    impostor = Client()
    paste(impostor, user_named_admin_token)
    assert "Every operator" not in impostor.get("/audit/").content.decode()
    visible = exported(impostor)
    assert visible  # its own sign-in at least
    assert [e for e in visible if e["client_address"] == ADMIN_ADDRESS] == []
    # And what is recorded tells the two apart.
    admins = AuditEvent.objects.filter(client_address=ADMIN_ADDRESS)
    assert {e.identity for e in admins} == {ADMIN_TOKEN}
    own = AuditEvent.objects.filter(action=Action.SIGN_IN).exclude(client_address=ADMIN_ADDRESS)
    assert Identity(IdentityKind.USER, "admin token") in {e.identity for e in own}


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_acting_as_a_user_is_recorded_with_who_authenticated(
    pymap_server: PymapServer, admin_token: str, pymap_user: MakeUser
) -> None:
    target = pymap_user(prefix="target")
    admin = pymap_user(prefix="operator", roles=["admin"])
    by_token, by_user = Client(), Client()
    paste(by_token, admin_token, act_as=target.name)
    sign_in(by_user, admin, act_as=target.name)
    recorded = {e.identity for e in AuditEvent.objects.filter(identity_act_as=target.name)}
    assert recorded == {
        Identity(IdentityKind.ADMIN_TOKEN, "", target.name),
        Identity(IdentityKind.USER, admin.name, target.name),
    }
    # The labels read as before.
    labels = set(
        AuditEvent.objects.filter(identity_act_as=target.name).values_list("operator", flat=True)
    )
    assert labels == {
        f"{target.name} (signed in as admin token)",
        f"{target.name} (signed in as {admin.name})",
    }


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_a_session_acting_as_a_user_sees_its_own_events_and_that_users(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    target = pymap_user(prefix="target")
    admin = pymap_user(prefix="operator", roles=["admin"])
    other = pymap_user(prefix="other", roles=["admin"])
    mine, theirs, users_own = Client(), Client(), Client()
    sign_in(mine, admin, act_as=target.name)  # target has no admin role: a narrow view
    sign_in(theirs, other, act_as=target.name)
    sign_in(users_own, target)
    seen = {(e["operator_kind"], e["operator_name"], e["operator_act_as"]) for e in exported(mine)}
    assert seen == {("user", admin.name, target.name), ("user", target.name, "")}


def test_failed_sign_ins_are_recorded_with_the_identity_they_claimed(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    client.post(SIGN_IN, {"method": "password", "username": user.name, "password": "wrong"})
    client.post(SIGN_IN, {"method": "token", "token": "not a token"})
    token = service.login(pymap_server, user.name, password=user.password)
    client.post(SIGN_IN, {"method": "token", "token": token, "act_as": "someone-else"})
    failed = [e.identity for e in AuditEvent.objects.exclude(outcome="ok").order_by("id")]
    assert failed[-3:] == [
        Identity(IdentityKind.USER, user.name),
        Identity(IdentityKind.MALFORMED_TOKEN),
        Identity(IdentityKind.LOGIN_TOKEN, user.name),
    ]


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_an_import_job_keeps_its_operator_as_an_identity(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, mail_spool: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = pymap_user(prefix="operator", roles=["admin"])
    target = pymap_user(prefix="target")
    sign_in(client, admin)
    upload = SimpleUploadedFile("a.eml", b"Subject: one\r\n\r\nbody\r\n")
    response = client.post(
        "/mail/import/",
        {"user": target.name, "mailbox": "INBOX", "date_source": "now", "upload": upload},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get(user=target.name)
    assert job.identity == Identity(IdentityKind.USER, admin.name)


@pytest.mark.parametrize(
    ("label", "identity"),
    [
        ("alice", Identity(IdentityKind.USER, "alice")),
        ("admin token", ADMIN_TOKEN),
        ("token (malformed)", Identity(IdentityKind.MALFORMED_TOKEN)),
        ("token for bob", Identity(IdentityKind.LOGIN_TOKEN, "bob")),
        ("alice (signed in as bob)", Identity(IdentityKind.USER, "bob", "alice")),
        ("alice (signed in as admin token)", Identity(IdentityKind.ADMIN_TOKEN, "", "alice")),
        ("", Identity(IdentityKind.NONE)),
    ],
)
def test_labels_written_before_identities_were_structured_are_read_back(
    label: str, identity: Identity
) -> None:
    assert parse_legacy_label(label) == identity
    assert identity.label == label  # the label of every kind reads as before


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_rows_written_before_it_their_identity() -> None:
    before = [("audit", "0001_audit_event")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("audit", "AuditEvent")
    for label in ("admin token", "alice (signed in as bob)", "carol"):
        old.objects.create(operator=label, server="s", action="sign-in", outcome="ok")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = {e.operator: e.identity for e in AuditEvent.objects.all()}
    assert migrated == {
        "admin token": ADMIN_TOKEN,
        "alice (signed in as bob)": Identity(IdentityKind.USER, "bob", "alice"),
        "carol": Identity(IdentityKind.USER, "carol"),
    }
