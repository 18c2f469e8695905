"""Bulk import on every backend: the plan, applying it, what the server kept.

What was stored is read past the panel (tests/stored.py: pymap-admin, and
maildir's files) and every password is tried with a Login.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from django.test import Client

from adminpanel.audit.models import AuditEvent
from adminpanel.bulk.models import Kind, PlanState, RowState
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from .support.bulk import apply_now, csv_bytes, passwords_file, rows_by_name, upload_plan
from .support.mail import caps_of
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import signed_in_admin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_spool"),
]


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def logs_in(server: PymapServer, name: str, password: str) -> bool:
    try:
        service.login(server, name, password=password)
    except Refused:
        return False
    return True


def overwrite(server: PymapServer, token: str, name: str, password: str, roles: list[str]) -> None:
    """A second writer replaces the user (with its current entity tag)."""
    tag = service.get_user(server, token, name).entity_tag
    service.set_user(server, token, name, password=password, roles=roles, previous_entity_tag=tag)


def test_a_plan_with_every_kind_of_row_is_applied_as_planned(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signed_in_admin(client, pymap_user)
    caps = caps_of(pymap)
    changed, same, gone = pymap_user("b-upd"), pymap_user("b-same"), pymap_user("b-del")
    taken, needs = pymap_user("b-taken"), pymap_user("b-needs")
    new_given, new_generated, missing = uid("b-new"), uid("b-gen"), uid("b-missing")
    rows = [
        [changed.name, "N3w-password-one", "staff", "", "update"],
        [same.name, "", "", "", ""],
        [gone.name, "", "", "", "delete"],
        [taken.name, "Whatever-pass-1", "", "", "create"],
        [needs.name, "", "staff", "", "update"],
        [new_given, "Given-password-1", "staff", "", "create"],
        [new_generated, "", "", "", ""],
        [missing, "Some-password-12", "", "", "update"],
        ["has space", "", "", "", ""],
        [uid("b-action"), "", "", "", "rename"],
    ]
    backend_refusals = []
    if "role" in caps.reserved_params:
        backend_refusals.append([uid("b-rp"), "Some-password-12", "", "role=admin", "create"])
    if "," in caps.forbidden_name_chars:
        backend_refusals.append([uid("b,comma"), "Some-password-12", "", "", "create"])
    if caps.max_roles == 1:
        backend_refusals.append([uid("b-2roles"), "Some-password-12", "a;b", "", "create"])
    plan = upload_plan(client, csv_bytes(rows + backend_refusals))

    kinds = {name: row.kind for name, row in rows_by_name(plan).items()}
    assert kinds[changed.name] == Kind.UPDATE
    assert kinds[same.name] == Kind.UNCHANGED
    assert kinds[gone.name] == Kind.DELETE
    assert kinds[new_given] == Kind.CREATE
    assert kinds[new_generated] == Kind.CREATE
    refused = {
        name: row.reason for name, row in rows_by_name(plan).items() if row.kind == "refused"
    }
    assert "exists already" in refused[taken.name]
    assert "needs the password" in refused[needs.name]
    assert "no user of this name" in refused[missing]
    assert "line 10, column name" in refused["has space"]
    assert any("column action" in reason for reason in refused.values())
    for row in backend_refusals:
        assert row[0] in refused, row
    assert len(refused) == 5 + len(backend_refusals)
    assert rows_by_name(plan)[changed.name].changes == ["roles: +staff", "password: from the file"]

    page = client.get(f"/bulk/{plan.pk}/").content.decode()
    assert '<dd data-kind="create">2</dd>' in page
    assert f'<dd data-kind="refused">{len(refused)}</dd>' in page
    # Only reads so far.
    assert stored_user(pymap, new_given) is None
    assert stored_user(pymap, gone.name) is not None

    plan = apply_now(client, plan)
    assert plan.state == PlanState.FINISHED, plan.stop_reason
    states = {row.name: row.state for row in plan.rows.all()}
    assert [n for n, s in states.items() if s == RowState.APPLIED] == [
        changed.name,
        gone.name,
        new_given,
        new_generated,
    ]

    kept = stored_user(pymap, changed.name)
    assert kept is not None
    assert kept.roles == {"staff"}
    assert logs_in(pymap_server, changed.name, "N3w-password-one")
    kept = stored_user(pymap, same.name)
    assert kept is not None
    assert kept.roles == frozenset()
    assert logs_in(pymap_server, same.name, same.password)
    assert stored_user(pymap, gone.name) is None
    kept = stored_user(pymap, new_given)
    assert kept is not None
    assert kept.roles == {"staff"}
    assert logs_in(pymap_server, new_given, "Given-password-1")
    # Refused rows wrote nothing: the users keep their passwords and roles.
    for user in (taken, needs):
        kept = stored_user(pymap, user.name)
        assert kept is not None, user.name
        assert kept.roles == frozenset(), user.name
        assert logs_in(pymap_server, user.name, user.password)
    for row in backend_refusals:
        assert stored_user(pymap, row[0]) is None

    generated = passwords_file(client, plan)
    assert list(generated) == [new_generated]
    assert logs_in(pymap_server, new_generated, generated[new_generated])
    assert client.get(f"/bulk/{plan.pk}/passwords.csv").status_code == 410  # once only

    # One audit record per row applied, and no password anywhere.
    for name in (changed.name, gone.name, new_given, new_generated):
        events = AuditEvent.objects.filter(target=name)
        assert [event.outcome for event in events] == ["ok"], name
    secrets_seen = [generated[new_generated], "N3w-password-one", "Given-password-1"]
    for event in AuditEvent.objects.all():
        assert not any(secret in event.detail for secret in secrets_seen)
    assert not any(secret in caplog.text for secret in secrets_seen)
    page = client.get(f"/bulk/{plan.pk}/").content.decode()
    assert not any(secret in page for secret in secrets_seen)
    assert plan.rows.exclude(sealed_password=None).count() == 0


def test_users_changed_by_a_second_writer_after_the_plan_are_conflicts_not_overwritten(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    admin_login_token: str,
) -> None:
    signed_in_admin(client, pymap_user)
    edited, deleted, removed = pymap_user("c-edit"), pymap_user("c-del"), pymap_user("c-rm")
    created = uid("c-new")
    plan = upload_plan(
        client,
        csv_bytes(
            [
                [edited.name, "Bulk-password-1", "staff", "", "update"],
                [deleted.name, "Bulk-password-2", "staff", "", "update"],
                [removed.name, "", "", "", "delete"],
                [created, "Bulk-password-3", "", "", "create"],
            ]
        ),
    )
    assert plan.rows.filter(kind__in=[Kind.UPDATE, Kind.DELETE, Kind.CREATE]).count() == 4
    # The second writer, between the plan and its application.
    overwrite(pymap_server, admin_login_token, edited.name, "Other-writer-1", ["other"])
    service.delete_user(pymap_server, admin_login_token, deleted.name)
    overwrite(pymap_server, admin_login_token, removed.name, "Other-writer-2", [])
    service.set_user(pymap_server, admin_login_token, created, password="Other-writer-3")

    plan = apply_now(client, plan)
    assert plan.state == PlanState.FINISHED, plan.stop_reason
    outcomes = {row.name: (row.state, row.outcome) for row in plan.rows.all()}
    assert {state for state, _ in outcomes.values()} == {RowState.CONFLICT}, outcomes
    assert "changed since the plan" in outcomes[edited.name][1]
    assert "deleted since the plan" in outcomes[deleted.name][1]
    assert "changed since the plan" in outcomes[removed.name][1]
    assert "created since the plan" in outcomes[created][1]
    # What the second writer stored stands.
    kept = stored_user(pymap, edited.name)
    assert kept is not None
    assert kept.roles == {"other"}
    assert logs_in(pymap_server, edited.name, "Other-writer-1")
    assert stored_user(pymap, deleted.name) is None
    assert logs_in(pymap_server, removed.name, "Other-writer-2")
    assert logs_in(pymap_server, created, "Other-writer-3")
    assert not logs_in(pymap_server, created, "Bulk-password-3")
    page = client.get(f"/bulk/{plan.pk}/").content.decode()
    assert "Conflict" in page
