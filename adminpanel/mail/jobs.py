"""What the pages do to import jobs: start, cancel, resume, retry, read progress.

Every change of state is one conditional UPDATE (``WHERE state IN ...``), so a
page and a worker acting at the same moment cannot both win. A run holds a
*lease* (``adminpanel/lib/leased_run.py``, shared with bulk plans); resuming
or cancelling takes it away, and a worker that lost its lease stops claiming
messages (it still records what happened to the ones it had sent, since
those are facts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from adminpanel.accounts.session import Operator
from adminpanel.audit.record import Action, record_event
from adminpanel.lib import leased_run

from . import spool
from .models import ImportJob, JobState, MessageState

log = logging.getLogger(__name__)

#: A queued job nobody picked up for this long gets a hint about the worker.
WAITING_HINT_AFTER = timedelta(seconds=30)

UNKNOWN_REASON = (
    "The worker stopped while this message was being sent: it may or may not have been delivered."
)
CANCELLED_REASON = "Not sent: the import was cancelled."
DISCARDED_UPLOAD_REASON = "Not sent: the upload was discarded."


def visible_to(operator: Operator) -> QuerySet[ImportJob]:
    """Imports to the operator's server: admins see every one; others the
    ones they started with their rights (rights on one server say nothing of
    another's).

    ``operator_name`` is "" for the admin token's imports: a session whose
    name is empty (pymap accepts such a user) must not match those.
    """
    everything = ImportJob.objects.filter(server=operator.server)
    if operator.is_admin:
        return everything
    if not operator.name:
        return everything.none()
    return everything.filter(operator_name=operator.name)


def shown_state(job: ImportJob) -> JobState:
    """The state a page shows: a running job whose worker went silent is interrupted."""
    return JobState.INTERRUPTED if leased_run.is_stale(job) else JobState(job.state)


# --- what an operator may do -----------------------------------------------------------


def _has(job: ImportJob, *states: MessageState, counts: Mapping[str, int] | None = None) -> bool:
    """Whether any message is in one of ``states``; from ``counts`` (a
    :class:`Progress`'s) when the caller has them, else from the database."""
    if counts is not None:
        return any(counts[state] for state in states)
    return job.messages.filter(state__in=states).exists()


def can_cancel(job: ImportJob) -> bool:
    return job.state in (JobState.QUEUED, JobState.RUNNING, JobState.INTERRUPTED, JobState.FAILED)


def worker_is_stopping(job: ImportJob) -> bool:
    """A cancel was asked of a worker that is still alive; once it went silent,
    cancelling again stops the job at once."""
    return job.cancel_requested and shown_state(job) == JobState.RUNNING


def can_resume(job: ImportJob, counts: Mapping[str, int] | None = None) -> bool:
    """Interrupted or stopped, with messages (or the archive) left to send."""
    if not job.upload_kept or shown_state(job) not in (JobState.INTERRUPTED, JobState.FAILED):
        return False
    return not job.split_done or _has(
        job, MessageState.PENDING, MessageState.SENDING, counts=counts
    )


def can_retry_unknown(job: ImportJob, counts: Mapping[str, int] | None = None) -> bool:
    if not job.upload_kept or shown_state(job) in (JobState.QUEUED, JobState.RUNNING):
        return False
    return _has(job, MessageState.UNKNOWN, MessageState.SENDING, counts=counts)


def can_discard_upload(job: ImportJob) -> bool:
    return job.upload_kept and shown_state(job) not in (JobState.QUEUED, JobState.RUNNING)


def _mark_in_flight_unknown(job: ImportJob) -> None:
    # The claim stays, so a worker that is in fact still alive can record the
    # real outcome over this when its Appends return.
    job.messages.filter(state=MessageState.SENDING).update(
        state=MessageState.UNKNOWN, reason_key="Interrupted", reason=UNKNOWN_REASON
    )


def requeue(job: ImportJob, sealed_token: bytes, *, include_unknown: bool) -> bool:
    """Resume a job no worker runs (optionally re-sending unknown outcomes).

    Returns False if the job changed meanwhile (a worker runs it, or it ended).
    The caller enqueues the task.
    """
    now = timezone.now()
    with transaction.atomic():
        allowed = leased_run.resumable(now)
        if include_unknown:
            allowed |= Q(state__in=[JobState.FINISHED, JobState.CANCELLED])
        updated = leased_run.requeue(
            ImportJob.objects.filter(allowed, pk=job.pk, upload_kept=True), sealed_token
        )
        if not updated:
            return False
        _mark_in_flight_unknown(job)
        if include_unknown:
            job.messages.filter(state=MessageState.UNKNOWN).update(
                state=MessageState.PENDING, claim="", resent=True, reason_key="", reason=""
            )
    job.refresh_from_db()
    return True


def cancel(job: ImportJob) -> bool:
    """Cancel: at once if no worker runs it, else ask the worker (True if stopped now)."""

    def stopped_now() -> None:
        _mark_in_flight_unknown(job)
        cancel_pending(job)

    stopped = leased_run.cancel(ImportJob.objects.filter(pk=job.pk), stopped_now=stopped_now)
    job.refresh_from_db()
    if stopped:
        release_upload_if_done(job)
    return stopped


def cancel_pending(job: ImportJob, reason: str = CANCELLED_REASON) -> None:
    job.messages.filter(state=MessageState.PENDING).update(
        state=MessageState.CANCELLED, reason_key="Cancelled", reason=reason
    )


def discard_upload(job: ImportJob) -> bool:
    """Delete the uploaded file of a job no worker runs; unsent messages are cancelled."""
    now = timezone.now()
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            leased_run.resumable(now)
            | Q(state__in=[JobState.FINISHED, JobState.CANCELLED, JobState.QUEUED]),
            pk=job.pk,
            upload_kept=True,
        ).update(upload_kept=False, lease="", sealed_token=None)
        if not updated:
            return False
        ImportJob.objects.filter(
            pk=job.pk, state__in=[JobState.QUEUED, JobState.RUNNING, JobState.INTERRUPTED]
        ).update(state=JobState.CANCELLED, finished_at=now)
        ImportJob.objects.filter(pk=job.pk, state=JobState.FAILED).update(finished_at=now)
        _mark_in_flight_unknown(job)
        cancel_pending(job, DISCARDED_UPLOAD_REASON)
    spool.remove_import_directory(job.spool_name)
    job.refresh_from_db()
    return True


def release_upload_if_done(job: ImportJob) -> None:
    """Delete the upload once nothing can need it: no message is left to send
    and none has an unknown outcome that an operator might want to resend."""
    if job.state not in (JobState.FINISHED, JobState.CANCELLED) or not job.upload_kept:
        return
    if _has(job, MessageState.PENDING, MessageState.SENDING, MessageState.UNKNOWN):
        return
    if ImportJob.objects.filter(pk=job.pk, upload_kept=True).update(upload_kept=False):
        spool.remove_import_directory(job.spool_name)
        job.upload_kept = False


# --- the audit trail of a run ----------------------------------------------------------


def record_end(job: ImportJob, outcome: str, detail: str) -> None:
    """Audit the end of a run, written by the worker on the operator's behalf."""
    record_event(
        Action.MAILBOX_IMPORT,
        identity=job.identity,
        client_address=job.client_address,
        server=job.server,
        target=job.target,
        outcome=outcome,
        detail=detail,
    )
