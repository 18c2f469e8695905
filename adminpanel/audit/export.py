"""Streaming CSV and JSON exports of audit events.

Rows are read from the database in batches while the response is sent, so an
export of the whole log needs no more memory than one batch. Under ASGI the
body is an async iterator (a sync one would be read whole first); each batch is
fetched in the request's own thread, where its database connection lives.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from adminpanel.lib.spreadsheet import csv_safe

from .models import AuditEvent

Format = Literal["csv", "json"]

BATCH = 500
COLUMNS = (
    "id",
    "created_at",
    "operator",
    "operator_kind",
    "operator_name",
    "operator_act_as",
    "client_address",
    "server",
    "action",
    "target",
    "outcome",
    "changed_fields",
    "detail",
)


#: Characters that make a spreadsheet read a cell as a formula (OWASP's list).
def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "operator": event.operator,
        # The identity as a structure: the label alone can be ambiguous.
        "operator_kind": event.identity_kind,
        "operator_name": event.identity_name,
        "operator_act_as": event.identity_act_as,
        "client_address": event.client_address,
        "server": event.server,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "changed_fields": list(event.changed_fields),
        "detail": event.detail,
    }


class _Line:
    """csv.writer target that hands back what it is given."""

    def write(self, value: str) -> str:
        return value


def _batches(events: QuerySet[AuditEvent]) -> Iterator[list[AuditEvent]]:
    batch: list[AuditEvent] = []
    for event in events.iterator(chunk_size=BATCH):
        batch.append(event)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def csv_chunks(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for batch in _batches(events):
        lines = []
        for event in batch:
            row = as_dict(event)
            row["client_address"] = row["client_address"] or ""
            row["changed_fields"] = ", ".join(row["changed_fields"])
            lines.append(writer.writerow([csv_safe(str(row[column])) for column in COLUMNS]))
        yield "".join(lines)


def json_chunks(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """One JSON array, one event per line."""
    separator = "[\n"
    for batch in _batches(events):
        parts = []
        for event in batch:
            parts.append(separator + json.dumps(as_dict(event), ensure_ascii=False))
            separator = ",\n"
        yield "".join(parts)
    yield "[]\n" if separator == "[\n" else "\n]\n"


def _next_chunk(chunks: Iterator[str]) -> str | None:
    return next(chunks, None)


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    pull = sync_to_async(_next_chunk, thread_sensitive=True)
    while (chunk := await pull(chunks)) is not None:
        yield chunk


def export_response(
    request: HttpRequest, events: QuerySet[AuditEvent], kind: Format
) -> StreamingHttpResponse:
    if kind == "csv":
        chunks, content_type = csv_chunks(events), "text/csv; charset=utf-8"
    else:
        chunks, content_type = json_chunks(events), "application/json"
    body: Iterator[str] | AsyncIterator[str] = (
        _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    )
    response = StreamingHttpResponse(body, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
    return response
