"""Cancelling and resuming a bulk apply, on every backend: no row is applied twice."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.audit.models import Action, AuditEvent
from adminpanel.bulk.models import BulkPlan, PlanState, RowState
from adminpanel.bulk.tasks import BulkRun
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from .support.bulk import csv_bytes, run, upload_plan
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import signed_in_admin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_spool"),
]


def _creates(client: Client, count: int) -> tuple[BulkPlan, list[str]]:
    names = [f"run-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    plan = upload_plan(client, csv_bytes([[n, f"Pw-{n}", "", "", "create"] for n in names]))
    assert client.post(f"/bulk/{plan.pk}/apply/").status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.QUEUED
    return plan, names


def _states(plan: BulkPlan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in plan.rows.order_by("line"):
        found.setdefault(row.state, []).append(row.name)
    return found


def test_a_worker_that_dies_mid_way_is_resumed_without_applying_a_row_twice(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.PANEL_BULK_CONCURRENCY = 2
    signed_in_admin(client, pymap_user)
    plan, names = _creates(client, 20)

    def killed(*args: object) -> None:
        raise SystemExit("the worker was killed after writing, before recording")

    with monkeypatch.context() as patch:
        patch.setattr(BulkRun, "_record", killed)
        with pytest.raises(SystemExit):
            run(plan)
    plan.refresh_from_db()
    assert plan.state == PlanState.INTERRUPTED
    in_flight = _states(plan)[RowState.APPLYING]
    # The rows that had been written (or were being written) when it died.
    assert 2 <= len(in_flight) <= 4
    assert in_flight == names[: len(in_flight)]
    assert _states(plan)[RowState.PENDING] == names[len(in_flight) :]
    page = client.get(f"/bulk/{plan.pk}/").content.decode()
    assert "Resume" in page

    assert client.post(f"/bulk/{plan.pk}/resume/").status_code == 302
    assert run(plan) == PlanState.FINISHED
    states = _states(plan)
    assert states[RowState.UNKNOWN] == in_flight  # written, never sent again
    assert states[RowState.APPLIED] == names[len(in_flight) :]
    assert "may or may not have been written" in plan.rows.get(name=names[0]).outcome
    for name in names:
        service.login(pymap_server, name, password=f"Pw-{name}")  # all stored, once
        creates = AuditEvent.objects.filter(action=Action.USER_CREATE, target=name)
        assert [event.outcome for event in creates] == ["ok"], name
    assert plan.rows.exclude(sealed_password=None).count() == 0


def test_cancelling_a_running_plan_leaves_the_rest_unwritten(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.PANEL_BULK_CONCURRENCY = 2
    signed_in_admin(client, pymap_user)
    plan, names = _creates(client, 20)
    record = BulkRun._record

    def record_then_cancel(self: BulkRun, *args: object) -> None:
        record(self, *args)  # type: ignore[arg-type]
        # The operator presses Cancel while the worker runs: it stops after this chunk.
        assert client.post(f"/bulk/{plan.pk}/cancel/").status_code == 302

    monkeypatch.setattr(BulkRun, "_record", record_then_cancel)
    assert run(plan) == PlanState.CANCELLED
    states = _states(plan)
    applied = states[RowState.APPLIED]
    # The rows in flight when the cancel was seen were finished, no more.
    assert 2 <= len(applied) <= 6
    assert applied == names[: len(applied)]
    assert states[RowState.CANCELLED] == names[len(applied) :]
    for name in names[len(applied) :]:
        assert stored_user(pymap, name) is None
    for name in applied:
        service.login(pymap_server, name, password=f"Pw-{name}")
    assert plan.rows.exclude(sealed_password=None).count() == 0
    page = client.get(f"/bulk/{plan.pk}/").content.decode()
    assert "Resume" not in page
    assert "Cancel the plan" not in page


def test_a_plan_cancelled_before_it_is_applied_writes_nothing(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    name = f"run-{uuid.uuid4().hex[:12]}"
    plan = upload_plan(client, csv_bytes([[name, "", "", "", "create"]]))
    assert client.post(f"/bulk/{plan.pk}/cancel/").status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.CANCELLED
    assert client.post(f"/bulk/{plan.pk}/apply/").status_code == 409
    assert run(plan) == "not-queued"
    with pytest.raises(Refused):
        service.get_user(pymap_server, pymap.admin_token, name)
    assert plan.rows.exclude(sealed_password=None).count() == 0


def test_queueing_resuming_and_cancelling_a_plan_are_audited(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    operator = signed_in_admin(client, pymap_user)
    plan, names = _creates(client, 2)
    # Starting the plan (its reads, by a worker) is audited; so is applying it.
    read_first, queued = AuditEvent.objects.filter(action="bulk-apply").order_by("id")
    assert read_first.detail == f"plan {plan.pk} reading: 2 users to read"
    assert (queued.operator, queued.server, queued.outcome) == (operator, pymap_server.name, "ok")
    assert queued.target == ""
    assert queued.detail == f"plan {plan.pk} queued: 2 rows to write"
    assert f'href="/bulk/{plan.pk}/"' in client.get("/audit/").content.decode()
    # A worker that died: the plan is resumed, then cancelled, each audited.
    BulkPlan.objects.filter(pk=plan.pk).update(state=PlanState.FAILED)
    assert client.post(f"/bulk/{plan.pk}/resume/").status_code == 302
    assert client.post(f"/bulk/{plan.pk}/cancel/").status_code == 302
    events = AuditEvent.objects.filter(action="bulk-apply").order_by("id")
    assert [event.detail.removeprefix(f"plan {plan.pk} ") for event in events] == [
        "reading: 2 users to read",
        "queued: 2 rows to write",
        "resumed: 2 rows to write",
        "cancelled",
    ]
    # Nothing was written by queueing.
    assert all(stored_user(pymap_user.pymap, name) is None for name in names)
