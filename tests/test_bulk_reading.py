"""Making a plan is a worker's task, on every backend: the upload is answered
before any user is read, the page follows the reads, they run in parallel
(bounded), and a run that is cancelled or dies reads no row twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.bulk.models import BulkPlan, Kind, PlanState
from adminpanel.bulk.reading import BATCHES_AHEAD, PlanRead
from adminpanel.pymap import service, transport
from adminpanel.users import records
from devtools.pymap_process import PymapProcess

from .support.bulk import BULK, csv_bytes, read, upload_queued
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import signed_in_admin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mail_spool", "pymap_server"),
]


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _new_users(count: int) -> list[list[str]]:
    return [[uid("rd"), f"Pw-reading-{i:04d}", "", "", "create"] for i in range(count)]


def test_the_upload_is_answered_before_any_user_is_read_and_the_page_shows_the_plan_once_made(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in_admin(client, pymap_user)
    existing = pymap_user("rd-same")
    rows = [[existing.name, "", "", "", ""], *_new_users(2), ["has space", "", "", "", ""]]

    def no_read(*args: object) -> None:
        raise AssertionError("the upload's request read a user")

    with monkeypatch.context() as patch:
        patch.setattr(records, "read", no_read)
        plan = upload_queued(client, csv_bytes(rows))
    assert plan.reading
    assert plan.state == PlanState.QUEUED
    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert "Making the plan" in page
    assert "Reading the users" in page
    # The row refused without the server is counted as read already.
    assert '<span data-field="read">1</span> of <span data-field="total">4</span>' in page
    assert f'<a href="/bulk/{plan.pk}/">reload it</a>' in page  # without JavaScript
    assert "Apply the plan" not in page
    assert client.post(f"{BULK}{plan.pk}/apply/").status_code == 409
    progress = client.get(f"{BULK}{plan.pk}/progress.json").json()
    assert progress["state"] == "reading"
    assert (progress["read"], progress["total"], progress["final"]) == (1, 4, False)
    listed = client.get(BULK).content.decode()
    assert "Reading the users" in listed

    assert read(plan) == PlanState.PLANNED
    kinds = [row.kind for row in plan.rows.order_by("line")]
    assert kinds == [Kind.UNCHANGED, Kind.CREATE, Kind.CREATE, Kind.REFUSED]
    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert "Making the plan" not in page
    assert '<dd data-kind="create">2</dd>' in page
    assert "Apply the plan" in page
    progress = client.get(f"{BULK}{plan.pk}/progress.json").json()
    assert progress["state"] == "planned"  # the reading page's script reloads
    assert stored_user(pymap, rows[1][0]) is None  # reads only


@contextmanager
def _counting_calls(monkeypatch: pytest.MonkeyPatch, meet: int) -> Iterator[dict[str, int]]:
    """Count the calls to pymap in flight at once: every RPC goes through
    ``transport.call`` on the gRPC loop, whether a batch's reads run there
    together or each row's in a thread. The first ``meet`` calls wait for each
    other, so they must all be in flight at once."""
    seen = {"most": 0, "calls": 0}
    now = [0]
    met: list[asyncio.Event] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        if not met:
            met.append(asyncio.Event())
        now[0] += 1
        seen["calls"] += 1
        seen["most"] = max(seen["most"], now[0])
        try:
            if seen["calls"] <= meet:
                if seen["calls"] == meet:
                    met[0].set()
                await asyncio.wait_for(met[0].wait(), 30)
            return await transport.call(*args, **kwargs)
        finally:
            now[0] -= 1

    monkeypatch.setattr("adminpanel.pymap.service.call", counted)
    yield seen


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names whose user is read, by either path of the plan's reader."""
    names: list[str] = []
    one_read, batch_read = records.read, service.UserReads._one

    def counted(server: object, operator: object, name: str) -> object:
        names.append(name)
        return one_read(server, operator, name)  # type: ignore[arg-type]

    async def counted_in_batch(self: service.UserReads, name: str) -> object:
        names.append(name)
        return await batch_read(self, name)

    monkeypatch.setattr(records, "read", counted)
    monkeypatch.setattr(service.UserReads, "_one", counted_in_batch)
    return names


def test_the_users_are_read_in_parallel_at_most_the_concurrency_at_once(
    client: Client,
    pymap_user: MakeUser,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.PANEL_BULK_CONCURRENCY = 3
    signed_in_admin(client, pymap_user)
    plan = upload_queued(client, csv_bytes(_new_users(12)))
    with _counting_calls(monkeypatch, meet=3) as seen:
        assert read(plan) == PlanState.PLANNED
    assert seen["most"] == 3
    assert seen["calls"] >= 12
    assert plan.rows.filter(kind=Kind.CREATE).count() == 12


def test_cancelling_while_the_users_are_read_stops_the_reads(
    client: Client, pymap_user: MakeUser, settings: DjangoSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PANEL_BULK_CONCURRENCY = 2
    signed_in_admin(client, pymap_user)
    plan = upload_queued(client, csv_bytes(_new_users(30)))
    record = PlanRead._record

    def record_then_cancel(self: PlanRead, *args: object) -> None:
        record(self, *args)  # type: ignore[arg-type]
        assert client.post(f"{BULK}{plan.pk}/cancel/").status_code == 302

    monkeypatch.setattr(PlanRead, "_record", record_then_cancel)
    assert read(plan) == PlanState.CANCELLED
    unread = plan.rows.filter(kind=Kind.UNREAD).count()
    # One batch's rows (4 x 2) and those of the batches whose reads had
    # started while it was stored were read, no more.
    assert 0 < 30 - unread <= (1 + BATCHES_AHEAD) * 4 * 2 < 30
    assert plan.rows.exclude(sealed_password=None).count() == 0
    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert "Cancelled" in page
    assert "Resume" not in page
    assert "Cancel the plan" not in page
    assert client.post(f"{BULK}{plan.pk}/apply/").status_code == 409


def test_a_reading_worker_that_dies_is_resumed_and_reads_only_the_rest(
    client: Client, pymap_user: MakeUser, settings: DjangoSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PANEL_BULK_CONCURRENCY = 2
    signed_in_admin(client, pymap_user)
    rows = _new_users(20)
    plan = upload_queued(client, csv_bytes(rows))
    record = PlanRead._record

    def record_then_die(self: PlanRead, *args: object) -> None:
        record(self, *args)  # type: ignore[arg-type]
        raise SystemExit("the worker was killed")

    with monkeypatch.context() as patch:
        patch.setattr(PlanRead, "_record", record_then_die)
        with pytest.raises(SystemExit):
            read(plan)
    plan.refresh_from_db()
    assert plan.state == PlanState.INTERRUPTED
    unread = plan.rows.filter(kind=Kind.UNREAD).count()
    assert 0 < unread < 20
    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert "Resume" in page
    assert client.post(f"{BULK}{plan.pk}/resume/").status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.QUEUED
    assert plan.reading

    names = _counting_reads(monkeypatch)
    assert read(plan) == PlanState.PLANNED
    assert len(names) == unread  # the rows read before it died are not read again
    assert plan.rows.filter(kind=Kind.CREATE).count() == 20
    passwords = {row.name: row.sealed_password is not None for row in plan.rows.all()}
    assert all(passwords.values())  # the file's passwords, kept for the apply
    assert BulkPlan.objects.get(pk=plan.pk).sealed_token is None  # wiped once made


@pytest.mark.backends("dict", "redis")
def test_a_token_no_longer_accepted_stops_the_reads_and_resume_reads_the_rest(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    operator = pymap_user("rd-op", roles=["admin"])
    signed_in_admin(client, pymap_user, as_user=operator)
    plan = upload_queued(client, csv_bytes(_new_users(5)))
    # Deleting a user deletes its login tokens: the plan's token dies.
    service.delete_user(pymap.server(), pymap.admin_token, operator.name)
    assert read(plan) == PlanState.FAILED
    assert "Reading the users stopped" in plan.stop_reason
    assert plan.rows.filter(kind=Kind.UNREAD).count() == 5  # none refused for it
    signed_in_admin(client, pymap_user)  # that session ended with its token: another admin
    page = client.get(f"{BULK}{plan.pk}/").content.decode()
    assert "Reading the users stopped" in page
    assert client.post(f"{BULK}{plan.pk}/resume/").status_code == 302
    assert read(plan) == PlanState.PLANNED
    assert plan.rows.filter(kind=Kind.CREATE).count() == 5


@pytest.mark.backends("dict", "redis")
def test_the_database_statements_of_a_plans_reads_grow_with_its_batches_not_its_rows(
    client: Client, pymap_user: MakeUser, settings: DjangoSettings
) -> None:
    """Each batch is one UPDATE of its rows and a heartbeat (lib/many_rows.py);
    a statement per row (a deferred field read, an update each) fails this."""
    settings.PANEL_BULK_CONCURRENCY = 2  # batches of 4 x 2 = 8 rows
    operator = pymap_user("rd-q", roles=["admin"])
    signed_in_admin(client, pymap_user, as_user=operator)
    counts = []
    for rows in (8, 64):
        plan = upload_queued(client, csv_bytes(_new_users(rows)))
        with CaptureQueriesContext(connection) as queries:
            assert read(plan) == PlanState.PLANNED
        counts.append(len(queries))
        assert plan.rows.filter(kind=Kind.CREATE).count() == rows
    # 7 more batches: at most 6 statements each (the update, the heartbeat's
    # two, the transaction's), however many rows a batch has.
    assert counts[1] - counts[0] <= 7 * 6, counts
