"""What the pages do to import jobs: start, cancel, resume, retry, read progress.

Every change of state is one conditional UPDATE (``WHERE state IN ...``), so a
page and a worker acting at the same moment cannot both win. A run holds a
*lease*; resuming or cancelling takes it away, and a worker that lost its
lease stops claiming messages (it still records what happened to the ones it
had sent, since those are facts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from adminpanel.accounts.session import Operator
from adminpanel.audit.record import Action, record_event

from . import spool
from .models import DONE_STATES, ImportJob, JobState, MessageState

log = logging.getLogger(__name__)

#: A running job whose worker has not written for this long is considered
#: interrupted (a worker writes after every few dozen messages). Resuming is
#: safe even if that worker still lives: it has lost its lease by then.
STALE_AFTER = timedelta(minutes=2)
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


def is_stale(job: ImportJob, now: datetime | None = None) -> bool:
    if job.state != JobState.RUNNING:
        return False
    beat = job.heartbeat_at or job.run_started_at or job.created_at
    return (now or timezone.now()) - beat > STALE_AFTER


def shown_state(job: ImportJob) -> JobState:
    """The state a page shows: a running job whose worker went silent is interrupted."""
    return JobState.INTERRUPTED if is_stale(job) else JobState(job.state)


# --- progress ------------------------------------------------------------------------


#: States of a message the server has answered for (or may have: unknown).
SENT_STATES = (
    MessageState.DELIVERED,
    MessageState.DISCARDED,
    MessageState.REFUSED,
    MessageState.UNKNOWN,
)
#: The bar's segments, left to right: (name, the states it counts).
SEGMENTS = (
    ("delivered", (MessageState.DELIVERED, MessageState.DISCARDED)),
    ("failed", (MessageState.REFUSED, MessageState.UNKNOWN)),
    ("not-sent", (MessageState.CANCELLED,)),
)


def _number(value: int) -> str:
    return f"{value:,}"


def _duration(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``, ``about 2 h 5 min``."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class Progress:
    state: JobState
    total: int | None
    total_bytes: int | None
    counts: dict[str, int]
    #: Messages in a final state (sent, or never to be sent).
    done: int
    done_bytes: int
    #: Bytes of the messages sent (see :attr:`sent`).
    sent_bytes: int
    #: Messages delivered per second, and their bytes, in the current (or last)
    #: run: only what reached a mailbox counts, never messages left unsent.
    rate: float | None
    byte_rate: float | None
    elapsed_seconds: float | None

    @property
    def failures(self) -> int:
        return self.counts[MessageState.REFUSED] + self.counts[MessageState.UNKNOWN]

    @property
    def sent(self) -> int:
        """Messages the server answered for (delivered, discarded, refused, unknown)."""
        return sum(self.counts[state] for state in SENT_STATES)

    @property
    def not_sent(self) -> int:
        """Messages that will never be sent (the import was cancelled)."""
        return self.counts[MessageState.CANCELLED]

    @property
    def waiting(self) -> int:
        return self.counts[MessageState.PENDING] + self.counts[MessageState.SENDING]

    @property
    def percent(self) -> int | None:
        """How much of the import was sent."""
        if not self.total:
            return 100 if self.total == 0 and self.state == JobState.FINISHED else None
        return min(100, int(100 * self.sent / self.total))

    @property
    def is_final(self) -> bool:
        return self.state in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the current delivery rate, while a worker runs the import."""
        if self.state != JobState.RUNNING or not self.rate or self.total is None:
            return None
        return self.waiting / self.rate

    def segments(self) -> list[dict[str, object]]:
        """The bar's parts as percentages of the total: ``x`` and ``width``."""
        total = self.total or 0
        parts: list[dict[str, object]] = []
        start = 0.0
        for name, states in SEGMENTS:
            count = sum(self.counts[state] for state in states)
            width = 100 * count / total if total else 0.0
            parts.append({"name": name, "x": f"{start:.2f}%", "width": f"{width:.2f}%"})
            start += width
        return parts

    def sentence(self) -> str:
        """The figures that matter for the state, in words that follow its label
        ("Cancelled" + " after 32 of 100 messages: ...")."""
        total = _number(self.total) if self.total is not None else "?"
        sent = f"{_number(self.sent)} of {total} messages"
        delivered = _number(self.counts[MessageState.DELIVERED])
        if self.state == JobState.QUEUED:
            return "nothing has been sent yet."
        if self.state == JobState.RUNNING:
            if self.total is None:
                return f"reading the archive; {_number(self.sent)} messages sent."
            left = self.eta_seconds
            eta = f"; {_duration(left)} left" if left is not None else ""
            return f"{sent} sent{eta}."
        if self.state == JobState.FINISHED:
            failed = f", {_number(self.failures)} not delivered" if self.failures else ""
            return f"{sent} sent, {delivered} delivered{failed}."
        if self.state == JobState.CANCELLED:
            return f"after {sent}: {delivered} delivered, {_number(self.not_sent)} never sent."
        # Interrupted or stopped.
        waiting = f"; {_number(self.waiting)} not sent yet" if self.waiting else ""
        return f"after {sent}: {delivered} delivered{waiting}."

    def texts(self) -> dict[str, str]:
        """The figures as the page shows them; the page's script sets the same
        texts from the JSON, so a reload and a refresh look alike."""
        total = _number(self.total) if self.total is not None else "counting…"
        if self.total_bytes is not None:
            volume = f"{filesizeformat(self.sent_bytes)} of {filesizeformat(self.total_bytes)}"
        else:
            volume = filesizeformat(self.sent_bytes)
        if self.rate is not None and self.byte_rate is not None:
            rate = f"{self.rate:.0f} delivered/s ({filesizeformat(self.byte_rate)}/s)"
        else:
            rate = "not yet known"
        eta = self.eta_seconds
        percent = f"({self.percent}%)" if self.percent is not None else ""
        value_text = f"{_number(self.sent)} of {total} sent"
        if self.not_sent:
            value_text += f", {_number(self.not_sent)} never sent"
        return {
            "state_label": self.state.label,
            "sentence": self.sentence(),
            "sent": _number(self.sent),
            "done": _number(self.done),
            "total": total,
            "percent": percent,
            "value_text": value_text,
            "volume": volume,
            "rate": rate,
            "eta": _duration(eta) if eta is not None else "",
            "delivered": _number(self.counts[MessageState.DELIVERED]),
            "discarded": _number(self.counts[MessageState.DISCARDED]),
            "refused": _number(self.counts[MessageState.REFUSED]),
            "unknown": _number(self.counts[MessageState.UNKNOWN]),
            "cancelled": _number(self.not_sent),
            "waiting": _number(self.waiting),
            "failures": _number(self.failures),
        }

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "final": self.is_final,
            "total": self.total,
            "done": self.done,
            "sent": self.sent,
            "not_sent": self.not_sent,
            "waiting": self.waiting,
            "total_bytes": self.total_bytes,
            "done_bytes": self.done_bytes,
            "sent_bytes": self.sent_bytes,
            "percent": self.percent,
            "delivered": self.counts[MessageState.DELIVERED],
            "discarded": self.counts[MessageState.DISCARDED],
            "refused": self.counts[MessageState.REFUSED],
            "unknown": self.counts[MessageState.UNKNOWN],
            "cancelled": self.counts[MessageState.CANCELLED],
            "rate": self.rate,
            "byte_rate": self.byte_rate,
            "eta_seconds": self.eta_seconds,
            "elapsed_seconds": self.elapsed_seconds,
            "segments": self.segments(),
            "texts": self.texts(),
        }


@dataclass(frozen=True)
class RunStart:
    """What was delivered when a run started: the delivery rate's baseline."""

    delivered: int
    delivered_bytes: int


def delivered_so_far(job: ImportJob) -> RunStart:
    found = job.messages.filter(state=MessageState.DELIVERED).aggregate(
        n=Count("id"), size=Sum("size")
    )
    return RunStart(delivered=found["n"] or 0, delivered_bytes=found["size"] or 0)


def progress(job: ImportJob) -> Progress:
    counts = dict.fromkeys(MessageState.values, 0)
    sizes = dict.fromkeys(MessageState.values, 0)
    rows = job.messages.values("state").annotate(n=Count("id"), size=Sum("size"))
    for row in rows:
        counts[row["state"]] = row["n"]
        sizes[row["state"]] = row["size"] or 0
    done = sum(counts[state] for state in DONE_STATES)
    done_bytes = sum(sizes[state] for state in DONE_STATES)
    rate = byte_rate = elapsed = None
    if job.run_started_at is not None:
        until = job.finished_at or job.heartbeat_at or timezone.now()
        if job.state == JobState.RUNNING and not is_stale(job):
            until = timezone.now()
        elapsed = max(0.0, (until - job.run_started_at).total_seconds())
        if elapsed > 0:
            rate = max(0, counts[MessageState.DELIVERED] - job.run_start_done) / elapsed
            byte_rate = max(0, sizes[MessageState.DELIVERED] - job.run_start_bytes) / elapsed
    return Progress(
        state=shown_state(job),
        total=job.total,
        total_bytes=job.total_bytes,
        counts=counts,
        done=done,
        done_bytes=done_bytes,
        sent_bytes=sum(sizes[state] for state in SENT_STATES),
        rate=rate,
        byte_rate=byte_rate,
        elapsed_seconds=elapsed,
    )


@dataclass(frozen=True)
class Stakes:
    """What cancelling an import or deleting its upload would leave behind,
    from :func:`progress`: the figures its confirmation page states."""

    state: JobState
    #: The archive was read to its end, so every message has a row.
    counted: bool
    total: int | None
    delivered: int
    #: Accepted, then discarded by the user's filter.
    filtered: int
    refused: int
    unknown: int
    #: Being sent by a worker that runs: it finishes them and records their outcome.
    in_flight: int
    #: Claimed by a worker that stopped: they will be marked "outcome unknown".
    stranded: int
    #: Never sent: after a cancel or a discard, they will never be sent.
    unsent: int

    @property
    def unknown_after(self) -> int:
        """Messages whose outcome is unknown once the stranded ones are marked."""
        return self.unknown + self.stranded

    @property
    def loses_nothing(self) -> bool:
        """Every message was sent and none has an unknown outcome: the upload
        can no longer serve anything."""
        return self.counted and not (self.unsent or self.in_flight or self.unknown_after)


def stakes(job: ImportJob) -> Stakes:
    now = progress(job)
    counts = now.counts
    sending = counts[MessageState.SENDING]
    live = now.state == JobState.RUNNING  # a running job whose worker went silent is not
    return Stakes(
        state=now.state,
        counted=job.split_done,
        total=now.total,
        delivered=counts[MessageState.DELIVERED],
        filtered=counts[MessageState.DISCARDED],
        refused=counts[MessageState.REFUSED],
        unknown=counts[MessageState.UNKNOWN],
        in_flight=sending if live else 0,
        stranded=0 if live else sending,
        unsent=counts[MessageState.PENDING],
    )


def waiting_for_worker(job: ImportJob) -> bool:
    return job.state == JobState.QUEUED and timezone.now() - job.created_at > WAITING_HINT_AFTER


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


def _resumable_filter(now: datetime) -> Q:
    """Jobs no worker runs: stopped, interrupted, or running with a silent worker."""
    return Q(state__in=[JobState.INTERRUPTED, JobState.FAILED]) | Q(
        state=JobState.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )


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
        allowed = _resumable_filter(now)
        if include_unknown:
            allowed |= Q(state__in=[JobState.FINISHED, JobState.CANCELLED])
        updated = ImportJob.objects.filter(allowed, pk=job.pk, upload_kept=True).update(
            state=JobState.QUEUED,
            lease="",
            cancel_requested=False,
            stop_reason="",
            stop_key="",
            finished_at=None,
            sealed_token=sealed_token,
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
    now = timezone.now()
    with transaction.atomic():
        stopped = ImportJob.objects.filter(
            _resumable_filter(now) | Q(state=JobState.QUEUED), pk=job.pk
        ).update(
            state=JobState.CANCELLED,
            lease="",
            sealed_token=None,
            finished_at=now,
            stop_reason="Cancelled by an operator.",
            stop_key="cancelled",
        )
        if stopped:
            _mark_in_flight_unknown(job)
            cancel_pending(job)
        else:
            ImportJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
                cancel_requested=True
            )
    job.refresh_from_db()
    if stopped:
        release_upload_if_done(job)
    return bool(stopped)


def cancel_pending(job: ImportJob, reason: str = CANCELLED_REASON) -> None:
    job.messages.filter(state=MessageState.PENDING).update(
        state=MessageState.CANCELLED, reason_key="Cancelled", reason=reason
    )


def discard_upload(job: ImportJob) -> bool:
    """Delete the uploaded file of a job no worker runs; unsent messages are cancelled."""
    now = timezone.now()
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            _resumable_filter(now)
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
