"""Turning an uploaded CSV into a plan: read it from disk, plan it, store the rows.

The upload has already streamed to a temporary file (FILE_UPLOAD_TEMP_DIR in
the panel's spool; small files stay in memory) under the size limit of
``PANEL_BULK_MAX_BYTES``; it is read from there line by line and never kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import IO, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from adminpanel.accounts.session import Operator
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.mail.parsing import displayable

from . import csvfile, plan
from .models import WRITING_KINDS, BulkPlan, BulkRow, RowState


@dataclass(frozen=True)
class PlanSpec:
    operator: Operator
    client_address: str | None
    context: plan.Context


def create_plan(spec: PlanSpec, uploaded: UploadedFile) -> BulkPlan:
    """Read, plan and store; raises ``csvfile.FileRefused`` for an unreadable file."""
    uploaded.seek(0)
    max_rows: int = settings.PANEL_BULK_MAX_ROWS
    rows = csvfile.read_rows(cast(IO[bytes], uploaded.file), max_rows=max_rows)
    if not rows:
        raise csvfile.FileRefused("The file has a header row but no user rows.")
    planned = plan.make_plan(rows, spec.context)
    operator = spec.operator
    with transaction.atomic():
        made = BulkPlan.objects.create(
            operator=operator.identity.label[:600],
            operator_name=operator.name or "",
            identity_kind=operator.identity.kind,
            identity_name=operator.identity.name[:300],
            identity_act_as=operator.identity.act_as[:300],
            client_address=spec.client_address,
            server=spec.context.server.name,
            backend_label=spec.context.caps.label,
            source_name=displayable(uploaded.name or "upload.csv", 200),
            upload_bytes=uploaded.size or 0,
            spool_name=secrets.token_hex(16),
            operator_is_admin=operator.is_admin,
            operator_admin_token=operator.admin_token,
            operator_signed_in_as=operator.signed_in_as or "",
            operator_expires_at=operator.expires_at,
        )
        BulkRow.objects.bulk_create(
            [_row(made, item) for item in planned],
            batch_size=500,
        )
    return made


def _row(made: BulkPlan, item: plan.PlannedRow) -> BulkRow:
    base = item.base
    return BulkRow(
        plan=made,
        line=item.line,
        name=item.name,
        requested=item.requested[:16],
        kind=item.kind,
        reason=item.reason,
        changes=item.changes,
        roles=item.roles,
        params=item.params,
        sealed_password=seal(item.password, Purpose.BULK_PASSWORD)
        if item.password is not None
        else None,
        password_generated=item.password_generated,
        base_tag=str(base.entity_tag) if base is not None else "",
        base_roles=list(base.roles) if base is not None else [],
        base_params=dict(base.params) if base is not None else {},
        base_fingerprint=base.password_fingerprint if base is not None else "",
        state=RowState.PENDING if item.kind in WRITING_KINDS else RowState.NOT_APPLIED,
    )
