"""Helpers for the bulk tests: CSV text, uploads, running the reading and apply workers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from adminpanel.bulk import reading, tasks
from adminpanel.bulk.models import BulkPlan, BulkRow, PlanState

BULK = "/bulk/"
HEADER = ("name", "password", "roles", "params", "action")


def csv_bytes(rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def upload(client: Client, data: bytes, name: str = "users.csv") -> Any:
    return client.post(BULK, {"upload": SimpleUploadedFile(name, data, "text/csv")})


def upload_queued(client: Client, data: bytes) -> BulkPlan:
    """Upload and return the plan waiting for its reads (the response must
    redirect to it)."""
    response = upload(client, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    match = re.fullmatch(r"/bulk/(\d+)/", response["Location"])
    assert match is not None, response["Location"]
    return BulkPlan.objects.get(pk=int(match[1]))


def upload_plan(client: Client, data: bytes) -> BulkPlan:
    """Upload, run the queued reads in this process as a worker would, and
    return the plan they made."""
    plan = upload_queued(client, data)
    assert plan.reading, plan.state
    assert plan.state == PlanState.QUEUED, plan.state
    assert read(plan) == PlanState.PLANNED, plan.stop_reason
    assert not plan.reading
    return plan


def read(plan: BulkPlan) -> str:
    state = reading.read_plan.call(plan.pk)
    plan.refresh_from_db()
    return state


def rows_by_name(plan: BulkPlan) -> dict[str, BulkRow]:
    return {row.name: row for row in plan.rows.all()}


def apply_now(client: Client, plan: BulkPlan) -> BulkPlan:
    """Press Apply, then run the queued task in this process as a worker would."""
    response = client.post(f"{BULK}{plan.pk}/apply/")
    assert response.status_code == 302, response.content.decode()[:2000]
    run(plan)
    plan.refresh_from_db()
    return plan


def run(plan: BulkPlan) -> str:
    state = tasks.apply_plan.call(plan.pk)
    plan.refresh_from_db()
    return state


def passwords_file(client: Client, plan: BulkPlan) -> dict[str, str]:
    """The generated passwords' download (name -> password), which must work once."""
    response = client.get(f"{BULK}{plan.pk}/passwords.csv")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["Content-Disposition"].startswith("attachment")
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    return {row["name"]: row["password"] for row in reader}
