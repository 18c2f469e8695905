"""Turning an upload into an import job: files into the spool, rows into the database.

The upload has already streamed to temporary files (FILE_UPLOAD_TEMP_DIR, in
the spool). An mbox archive is moved into the job's directory with a rename
and split later by the worker; .eml files are concatenated into the job's
message file here, one row each, since they need no splitting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db import transaction

from adminpanel.accounts.identity import Identity
from adminpanel.lib.refusal import Refusal

from . import flags, parsing, spool
from .models import ImportJob, ImportMessage, SourceFormat


class UploadRefused(Refusal):
    """The upload cannot become an import (its field: ``upload``)."""

    field = "upload"


def _head(uploaded: UploadedFile, size: int = 5) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(size)
    uploaded.seek(0)
    return head if isinstance(head, bytes) else b""


def is_archive(uploaded: UploadedFile) -> bool:
    """An mbox (starts with a ``From `` line) or gzip data; anything else is one message."""
    head = _head(uploaded)
    return head.startswith(b"\x1f\x8b") or head == b"From "


def source_format(files: Sequence[UploadedFile]) -> SourceFormat:
    archives = [uploaded for uploaded in files if is_archive(uploaded)]
    if not archives:
        return SourceFormat.EML
    if len(files) > 1:
        raise UploadRefused(
            "Upload one mbox archive on its own, or any number of .eml files "
            f"({len(archives)} of the {len(files)} files are mbox or gzip archives)."
        )
    return SourceFormat.MBOX


def display_name(files: Sequence[UploadedFile]) -> str:
    if len(files) == 1:
        return parsing.displayable(files[0].name or "upload", 200)
    return f"{len(files)} .eml files"


@dataclass(frozen=True)
class JobSpec:
    identity: Identity
    operator_name: str
    client_address: str | None
    server: str
    user: str
    mailbox: str
    flags: list[str]
    date_source: str
    sealed_token: bytes
    archive_flags: bool = True


def create_job(spec: JobSpec, files: Sequence[UploadedFile]) -> ImportJob:
    """Move the upload into a new spool directory and record the job (QUEUED)."""
    kind = source_format(files)
    name = spool.new_import_name()
    directory = spool.import_directory(name, create=True)
    try:
        if kind == SourceFormat.MBOX:
            _store_file(files[0], directory / spool.UPLOAD_FILE)
            rows: list[ImportMessage] = []
        else:
            rows = _store_messages(files, directory / spool.DATA_FILE, spec.archive_flags)
        with transaction.atomic():
            job = ImportJob.objects.create(
                operator=spec.identity.label[:600],
                operator_name=spec.operator_name,
                identity_kind=spec.identity.kind,
                identity_name=spec.identity.name[:300],
                identity_act_as=spec.identity.act_as[:300],
                client_address=spec.client_address,
                server=spec.server,
                user=spec.user,
                mailbox=spec.mailbox,
                flags=spec.flags,
                archive_flags=spec.archive_flags,
                date_source=spec.date_source,
                source_format=kind,
                source_name=display_name(files),
                upload_bytes=sum(uploaded.size or 0 for uploaded in files),
                spool_name=name,
                sealed_token=spec.sealed_token,
                split_done=kind == SourceFormat.EML,
                total=len(rows) if kind == SourceFormat.EML else None,
                total_bytes=sum(row.size for row in rows) if kind == SourceFormat.EML else None,
            )
            for row in rows:
                row.job = job
            ImportMessage.objects.bulk_create(rows, batch_size=1000)
    except BaseException:
        spool.remove_import_directory(name)
        raise
    return job


def _store_file(uploaded: UploadedFile, target: Path) -> None:
    if isinstance(uploaded, TemporaryUploadedFile):
        # Same file system (FILE_UPLOAD_TEMP_DIR is in the spool): a rename.
        file_move_safe(uploaded.temporary_file_path(), str(target))
        with contextlib.suppress(OSError):
            uploaded.close()
        return
    with open(target, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)


def _store_messages(
    files: Sequence[UploadedFile], target: Path, archive_flags: bool
) -> list[ImportMessage]:
    """Concatenate the .eml files into ``target``; one row each, with the
    flags of its Status headers and its Maildir-style name if asked."""
    rows: list[ImportMessage] = []
    offset = 0
    with open(target, "wb") as out:
        for index, uploaded in enumerate(files, start=1):
            uploaded.seek(0)
            header = parsing.read_header_block(uploaded.file)  # type: ignore[arg-type]
            summary = parsing.summarize_headers(header)
            size = 0
            uploaded.seek(0)
            for chunk in uploaded.chunks():
                out.write(chunk)
                size += len(chunk)
            rows.append(
                ImportMessage(
                    index=index,
                    offset=offset,
                    size=size,
                    when=summary.date,
                    subject=summary.subject,
                    message_id=summary.message_id,
                    flags=_message_flags(uploaded, summary.flags) if archive_flags else [],
                )
            )
            offset += size
    return rows


def _message_flags(uploaded: UploadedFile, from_headers: tuple[str, ...]) -> list[str]:
    from_name = flags.from_maildir_name(uploaded.name or "")
    return [*from_headers, *(flag for flag in from_name if flag not in from_headers)]
