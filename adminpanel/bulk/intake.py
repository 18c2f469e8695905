"""Turning an uploaded CSV into a plan to make: read it from disk, check each
row as far as the panel can without the server, store the rows.

The upload has already streamed to a temporary file (FILE_UPLOAD_TEMP_DIR in
the panel's spool; small files stay in memory) under the size limit of
``PANEL_BULK_MAX_BYTES``; it is read from there line by line and never kept.
Nothing here asks the mail server: reading the users, one GetUser per row,
grows with the file, so a worker does it (``reading.py``) and the request
only stores the rows (``UNREAD``, their passwords sealed) and queues it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import IO, Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from adminpanel.accounts.session import Operator
from adminpanel.lib.many_rows import insert_each
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.mail.parsing import displayable
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.servers import PymapServer

from . import csvfile, plan
from .models import WRITING_KINDS, BulkPlan, BulkRow, Kind, PlanState, RowState


@dataclass(frozen=True)
class PlanSpec:
    operator: Operator
    client_address: str | None
    server: PymapServer
    caps: Capabilities


def create_plan(spec: PlanSpec, uploaded: UploadedFile, sealed_token: bytes) -> BulkPlan:
    """Read, check and store the rows, the plan QUEUED for its reads (the
    caller enqueues the task); raises ``csvfile.FileRefused`` for an
    unreadable file."""
    uploaded.seek(0)
    max_rows: int = settings.PANEL_BULK_MAX_ROWS
    rows = csvfile.read_rows(cast(IO[bytes], uploaded.file), max_rows=max_rows)
    if not rows:
        raise csvfile.FileRefused("The file has a header row but no user rows.")
    screened = plan.screen(rows, spec.caps)
    operator = spec.operator
    with transaction.atomic():
        made = BulkPlan.objects.create(
            operator=operator.identity.label[:600],
            operator_name=operator.name or "",
            identity_kind=operator.identity.kind,
            identity_name=operator.identity.name[:300],
            identity_act_as=operator.identity.act_as[:300],
            client_address=spec.client_address,
            server=spec.server.name,
            backend_label=spec.caps.label,
            source_name=displayable(uploaded.name or "upload.csv", 200),
            upload_bytes=uploaded.size or 0,
            spool_name=secrets.token_hex(16),
            operator_is_admin=operator.is_admin,
            operator_admin_token=operator.admin_token,
            operator_signed_in_as=operator.signed_in_as or "",
            operator_expires_at=operator.expires_at,
            state=PlanState.QUEUED,
            reading=True,
            sealed_token=sealed_token,
        )
        insert_each(
            BulkRow,
            (
                {"plan_id": made.pk, **planned_fields(item)}
                if isinstance(item, plan.PlannedRow)
                else _unread(made, item)
                for item in screened
            ),
        )
    return made


def _unread(made: BulkPlan, row: csvfile.CsvRow) -> dict[str, Any]:
    return {
        "plan_id": made.pk,
        "line": row.line,
        "name": row.name,
        "requested": row.action[:16],
        "kind": Kind.UNREAD,
        "roles": row.roles,
        "params": row.params,
        "has_roles": row.has_roles,
        "has_params": row.has_params,
        "sealed_password": seal(row.password, Purpose.BULK_PASSWORD) if row.password else None,
        "state": RowState.NOT_APPLIED,
    }


#: The fields of an UNREAD row that as_csv_row() reads, and its plan: rows
#: read through ``plan.rows`` are given their plan, which reads ``plan_id``
#: (deferred, that is one query per row).
UNREAD_FIELDS = (
    "id", "plan", "line", "name", "roles", "params", "requested", "has_roles", "has_params",
    "sealed_password",
)  # fmt: skip


def as_csv_row(row: BulkRow, password: str | None) -> csvfile.CsvRow:
    """An UNREAD row as the file gave it, for ``plan.read_and_classify``."""
    return csvfile.CsvRow(
        line=row.line,
        name=row.name,
        password=password or "",
        roles=list(row.roles),
        params=dict(row.params),
        action=row.requested,
        has_roles=row.has_roles,
        has_params=row.has_params,
    )


def planned_fields(item: plan.PlannedRow) -> dict[str, Any]:
    """What a row holds once planned."""
    base = item.base
    return {
        "line": item.line,
        "name": item.name,
        "requested": item.requested[:16],
        "kind": item.kind,
        "reason": item.reason,
        "changes": item.changes,
        "roles": item.roles,
        "params": item.params,
        "sealed_password": seal(item.password, Purpose.BULK_PASSWORD)
        if item.password is not None
        else None,
        "password_generated": item.password_generated,
        "base_tag": str(base.entity_tag) if base is not None else "",
        "base_roles": list(base.roles) if base is not None else [],
        "base_params": dict(base.params) if base is not None else {},
        "base_fingerprint": base.password_fingerprint if base is not None else "",
        "state": RowState.PENDING if item.kind in WRITING_KINDS else RowState.NOT_APPLIED,
    }
