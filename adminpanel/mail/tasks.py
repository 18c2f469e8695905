"""The import task, run by a django-tasks worker (``manage.py db_worker``).

A run claims its job (QUEUED -> RUNNING with a fresh lease: the lease, the
heartbeat and how a run ends are ``adminpanel/lib/leased_run.py``'s, shared
with bulk plans), splits the archive into message rows if that has not been
done, then works in chunks:

1. claim the next few PENDING messages: mark them SENDING and commit, before
   any of them is sent;
2. append them with bounded concurrency over one channel
   (:func:`adminpanel.pymap.service.append_batch`);
3. record each outcome (UID, or the reason) and beat the job's heartbeat.

Between chunks it checks its lease and the cancel flag. A worker that dies in
step 2 leaves that chunk in SENDING: resuming marks those "outcome unknown"
and never sends them again by itself. The token is wiped when the run ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django_tasks import task

from adminpanel.lib import metrics
from adminpanel.lib.leased_run import CANCELLED_KEY, CANCELLED_REASON, LeasedRun, Stopped, Wording
from adminpanel.lib.sealing import Purpose
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey
from adminpanel.pymap.results import AppendError, AppendItem, AppendOutcome
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current, knowledge

from . import jobs, outcomes, parsing, progress, spool
from .models import DateSource, ImportJob, ImportMessage, JobState, MessageState, SourceFormat

#: Message rows written per transaction while splitting.
SPLIT_BATCH = 1000
#: A chunk holds at most this many bytes of messages...
CHUNK_BYTES = 32 * 1024 * 1024
#: ...and this many messages per unit of concurrency (few enough that a chunk
#: ends within the heartbeat's allowance even when every call times out).
CHUNK_ROUNDS = 8
#: Fields written when an outcome is recorded.
_RECORDED = ("state", "claim", "mailbox", "uid_validity", "uid", "reason_key", "reason")


def _record_sql() -> str:
    quote = connection.ops.quote_name
    # The fields are plain columns named like the fields. Only these fixed
    # names go into the text; every value is a parameter.
    assignments = ", ".join(f"{quote(field)} = %s" for field in _RECORDED)
    return (
        f"UPDATE {quote(ImportMessage._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote('id')} = %s AND {quote('claim')} = %s AND {quote('state')} IN (%s, %s)"
    )


@task()
def run_import(job_id: int) -> str:
    """Run (or resume) import ``job_id``; returns the state it ended in."""
    return ImportRun(job_id).run()


class ImportRun(LeasedRun[ImportJob]):
    purpose = Purpose.IMPORT_JOB
    wording = Wording(
        log_name="import",
        failed="The import failed inside the panel (the error is in the worker's log). "
        "Resume it to try the remaining messages again.",
        interrupted="The worker stopped during the import.",
        not_sealed="The import has no token; resume it to give it one.",
        unsealable="The import's token cannot be opened: the panel's SECRET_KEY differs "
        "between the web process and the worker, or changed. Resume it to give it a new one.",
    )

    def __init__(self, job_id: int) -> None:
        super().__init__(ImportJob, job_id)
        self.concurrency: int = settings.PANEL_IMPORT_CONCURRENCY
        self.chunk_messages = max(32, self.concurrency * CHUNK_ROUNDS)
        self.server: PymapServer = current.default()

    # -- life cycle -------------------------------------------------------------------

    def _work(self, job: ImportJob) -> None:
        server = current.by_name(job.server)
        if server is None:
            raise Stopped(
                JobState.FAILED,
                f"The import was made for the mail server “{job.server}”, which this "
                "worker's configuration does not name (PANEL_SERVERS_FILE or PYMAP_ADMIN_*).",
                "WrongServer",
            )
        self.server = server
        if not knowledge.capabilities(server).keeps_order_of_parallel_appends:
            # The backend (redis) numbers parallel Appends in the order they
            # finish, not the order they were sent: one at a time keeps the
            # archive's order.
            self.concurrency = 1
            self.chunk_messages = max(32, CHUNK_ROUNDS)
        token = self._token(job.sealed_token)
        if not job.split_done:
            self._split(job)
        self._refuse_unsendable(job)
        started = progress.delivered_so_far(job)
        ImportJob.objects.filter(pk=job.pk).update(
            run_start_done=started.delivered, run_start_bytes=started.delivered_bytes
        )
        with spool.data_path(job.spool_name).open("rb") as stream:
            while True:
                if self._beat():
                    jobs.cancel_pending(job)
                    raise Stopped(JobState.CANCELLED, CANCELLED_REASON, CANCELLED_KEY)
                chunk = self._claim_chunk(job)
                if not chunk:
                    return
                self._send(job, token, stream, chunk)

    def _ended(self, job: ImportJob, state: str, key: str) -> None:
        """Audit how the run ended; drop the upload if nothing needs it."""
        done = progress.progress(job)
        counts = done.counts
        detail = (
            f"import {job.pk}: {counts[MessageState.DELIVERED]} delivered, "
            f"{counts[MessageState.DISCARDED]} discarded, {counts[MessageState.REFUSED]} "
            f"refused, {counts[MessageState.UNKNOWN]} unknown, "
            f"{counts[MessageState.PENDING] + counts[MessageState.CANCELLED]} not sent"
        )
        if state == JobState.FINISHED:
            outcome = "ok" if done.failures == 0 else "partial"
        elif state == JobState.CANCELLED:
            outcome = "cancelled"
        else:
            outcome = key or JobState(state).value
        jobs.record_end(job, outcome, detail)
        jobs.release_upload_if_done(job)

    # -- splitting -------------------------------------------------------------------------

    def _split(self, job: ImportJob) -> None:
        """Turn the uploaded mbox into message rows (again, after a crash mid-way)."""
        if job.source_format != SourceFormat.MBOX:
            raise Stopped(JobState.FAILED, "The import has no messages.", "NoMessages")
        target = spool.data_path(job.spool_name)
        try:
            self._prepare_archive(job, target)
            job.messages.all().delete()  # rows of a split that did not finish
            batch: list[ImportMessage] = []
            total = total_bytes = 0
            for found in parsing.split_mbox(target):
                total += 1
                total_bytes += found.size
                batch.append(
                    ImportMessage(
                        job=job,
                        index=total,
                        offset=found.offset,
                        size=found.size,
                        when=found.summary.date,
                        subject=found.summary.subject,
                        message_id=found.summary.message_id,
                        flags=list(found.summary.flags) if job.archive_flags else [],
                    )
                )
                if len(batch) >= SPLIT_BATCH:
                    ImportMessage.objects.bulk_create(batch)
                    batch.clear()
                    self._beat()
            ImportMessage.objects.bulk_create(batch)
        except parsing.ArchiveError as exc:
            # Nothing in this upload can be imported: drop it, so that the
            # page offers no resume that would fail the same way.
            job.messages.all().delete()
            ImportJob.objects.filter(pk=job.pk).update(upload_kept=False)
            spool.remove_import_directory(job.spool_name)
            raise Stopped(JobState.FAILED, exc.message, "NotAnArchive") from exc
        ImportJob.objects.filter(pk=job.pk).update(
            split_done=True, total=total, total_bytes=total_bytes
        )
        job.refresh_from_db()

    def _prepare_archive(self, job: ImportJob, target: Path) -> None:
        upload = spool.upload_path(job.spool_name)
        if not upload.exists():
            if target.exists():
                return  # uncompressed by an earlier run
            raise parsing.ArchiveError("The uploaded file is missing from the spool.")
        if parsing.is_gzip(upload):
            parsing.gunzip(
                upload,
                target,
                settings.PANEL_MAX_IMPORT_BYTES,
                max_ratio=settings.PANEL_MAX_GZIP_RATIO,
            )
            upload.unlink()
            if not parsing.is_mbox(target):
                raise parsing.ArchiveError("The .gz file does not hold an mbox archive.")
        else:
            upload.rename(target)

    def _refuse_unsendable(self, job: ImportJob) -> None:
        """Messages the panel will not send at all: empty, or over the size limit."""
        limit: int = settings.PANEL_MAX_MESSAGE_BYTES
        pending = job.messages.filter(state=MessageState.PENDING)
        pending.filter(size=0).update(
            state=MessageState.REFUSED, reason_key="Empty", reason="The message is empty."
        )
        pending.filter(size__gt=limit).update(
            state=MessageState.REFUSED,
            reason_key="TooLarge",
            reason=f"The message is larger than the panel's limit of {limit} bytes.",
        )

    # -- sending ---------------------------------------------------------------------------

    def _claim_chunk(self, job: ImportJob) -> list[ImportMessage]:
        with transaction.atomic():
            candidates = job.messages.filter(state=MessageState.PENDING).order_by("index")
            ids: list[int] = []
            size = 0
            for message_id, message_size in candidates.values_list("id", "size")[
                : self.chunk_messages
            ]:
                if ids and size + message_size > CHUNK_BYTES:
                    break
                ids.append(message_id)
                size += message_size
            job.messages.filter(id__in=ids, state=MessageState.PENDING).update(
                state=MessageState.SENDING, claim=self.lease
            )
        return list(
            job.messages.filter(id__in=ids, state=MessageState.SENDING, claim=self.lease).order_by(
                "index"
            )
        )

    def _send(
        self, job: ImportJob, token: str, stream: BinaryIO, chunk: list[ImportMessage]
    ) -> None:
        results: dict[int, AppendOutcome | AppendError] = {}
        stops: list[AppendError] = []
        use_header_date = job.date_source == DateSource.HEADER

        def on_outcome(item: AppendItem, outcome: AppendOutcome | AppendError) -> None:
            # Runs on the gRPC event loop's thread: collect only.
            results[item.key] = outcome
            if isinstance(outcome, AppendError) and outcomes.stops_import(outcome):
                stops.append(outcome)

        def items() -> Iterator[AppendItem]:
            for message in chunk:
                if stops:
                    return  # the rest would fail alike; they stay queued
                yield AppendItem(
                    key=message.pk,
                    size=message.size,
                    read=partial(parsing.read_message, stream, message.offset, message.size),
                    when=message.when if use_header_date else None,
                    flags=tuple(message.flags),
                )

        try:
            service.append_batch(
                self.server,
                token,
                job.user,
                items(),
                on_outcome,
                mailbox=job.mailbox,
                flags=job.flags,
                concurrency=self.concurrency,
            )
        finally:
            # Record what is known even if the batch failed part-way.
            self._record(job, chunk, results)
        if stops:
            first = stops[0]
            reason = outcomes.error_reason(first.error, user=job.user, mailbox=job.mailbox)
            caps = knowledge.capabilities(self.server)
            if first.error.outcome == RefusalKey.INVALID_AUTH and caps.set_user_ends_tokens:
                reason = (
                    f"The import's token was refused: on this server ({caps.label}) every "
                    f"change to the user (an edit, a password change) ends the user's tokens."
                )
            raise Stopped(
                JobState.FAILED,
                reason + " The import stopped; the messages not yet delivered are kept, so "
                "resuming it (with a new token) sends only those.",
                first.error.outcome,
            )

    def _record(
        self,
        job: ImportJob,
        chunk: list[ImportMessage],
        results: dict[int, AppendOutcome | AppendError],
    ) -> None:
        rows = []
        for message in chunk:
            result = results.get(message.pk)
            if result is None:
                # Never attempted (the batch stopped first): send it later.
                message.state, message.claim = MessageState.PENDING, ""
            else:
                self._apply(job, message, result)
            values = [getattr(message, field) for field in _RECORDED]
            rows.append(
                [*values, message.pk, self.lease, MessageState.SENDING, MessageState.UNKNOWN]
            )
        # One statement per row, executed as a batch: Django's bulk_update
        # builds CASE expressions that cost more than the Appends themselves.
        # The WHERE clause leaves alone the rows that a resume or a retry has
        # since handed to another run.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(_record_sql(), rows)

    @staticmethod
    def _apply(job: ImportJob, message: ImportMessage, result: AppendOutcome | AppendError) -> None:
        message.reason_key = message.reason = ""
        if isinstance(result, AppendOutcome):
            if result.delivered:
                metrics.MESSAGES_APPENDED.labels(job.server).inc()
                message.state = MessageState.DELIVERED
                message.mailbox = result.mailbox
                message.uid_validity = result.uid_validity
                message.uid = result.uid
            else:
                message.state = MessageState.DISCARDED
                message.reason = outcomes.DISCARDED
            return
        reason = outcomes.error_reason(result.error, user=job.user, mailbox=job.mailbox)
        message.reason_key = result.error.outcome[:100]
        if not result.outcome_known:
            message.state = MessageState.UNKNOWN
            message.reason = (reason + outcomes.UNKNOWN_SUFFIX)[:500]
        elif outcomes.stops_import(result):
            # Certainly not stored, and the same would happen to every message:
            # keep it queued for when the import is resumed.
            message.state, message.claim = MessageState.PENDING, ""
            message.reason_key = ""
        else:
            message.state = MessageState.REFUSED
            message.reason = reason[:500]
