"""A worker's run that holds a lease on a row: what imports and bulk plans share.

An import job (``mail/``) and a bulk plan (``bulk/``) are each worked through
by a task in a worker. Both rows carry the same fields (``state``, ``lease``,
``heartbeat_at``, ``run_started_at``, ``finished_at``, ``stop_reason``,
``stop_key``, ``cancel_requested``, ``sealed_token``, ``created_at``) and the
states below; this module is what reads and writes them as a lease:

- a run takes its row (QUEUED -> RUNNING with a fresh lease), beats the
  heartbeat between steps and records how it ended, each only while the
  lease is still its own (:class:`LeasedRun`);
- a page resumes or cancels a row no worker runs (stopped, interrupted, or
  running with a worker silent for :data:`STALE_AFTER`). That takes the lease
  away, so a worker still alive stops at its next beat (:func:`resumable`,
  :func:`requeue`, :func:`cancel`).

What a step does, which of the job's items (messages, CSV rows) are in
flight, and the audit stay in each app.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .sealing import Purpose, UnsealError, unseal

#: The states this module writes and reads; JobState and PlanState are
#: choices with these values.
QUEUED = "queued"
RUNNING = "running"
INTERRUPTED = "interrupted"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = "finished"

#: A running row whose worker has not written for this long is interrupted (a
#: worker beats between its steps: a chunk of messages, a few rows). Resuming
#: is safe even if that worker still lives: it has lost its lease by then.
STALE_AFTER = timedelta(minutes=2)

CANCELLED_REASON = "Cancelled by an operator."
CANCELLED_KEY = "cancelled"


class LeasedRow(models.Model):
    """The columns of a leased row (an abstract model); ``state`` is each
    model's own, with its choices."""

    created_at = models.DateTimeField(auto_now_add=True)
    cancel_requested = models.BooleanField(default=False)
    #: The run (worker) that may claim items; resuming hands out a new one.
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    #: Items done when the current run started (the baseline of its rate).
    run_start_done = models.IntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Why the run stopped, in words, and the result key or error behind it.
    stop_reason = models.CharField(max_length=500, blank=True)
    stop_key = models.CharField(max_length=100, blank=True)
    #: The worker's token, narrowed and sealed (sealing.py); wiped when a run ends.
    sealed_token = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Leased(Protocol):
    """The fields of a leased row that say whether its worker is alive."""

    @property
    def state(self) -> str: ...
    @property
    def heartbeat_at(self) -> datetime | None: ...
    @property
    def run_started_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


def is_stale(row: Leased, now: datetime | None = None) -> bool:
    if row.state != RUNNING:
        return False
    beat = row.heartbeat_at or row.run_started_at or row.created_at
    return (now or timezone.now()) - beat > STALE_AFTER


def resumable(now: datetime) -> Q:
    """Rows no worker runs: stopped, interrupted, or running with a silent worker."""
    return Q(state__in=[INTERRUPTED, FAILED]) | Q(state=RUNNING, heartbeat_at__lt=now - STALE_AFTER)


def requeue(rows: QuerySet[Any], sealed_token: bytes) -> int:
    """Back to the queue with a new token, the old lease void; how many rows."""
    return rows.update(
        state=QUEUED,
        lease="",
        cancel_requested=False,
        stop_reason="",
        stop_key="",
        finished_at=None,
        sealed_token=sealed_token,
    )


def cancel(
    row: QuerySet[Any], *, also: Sequence[str] = (), stopped_now: Callable[[], None]
) -> bool:
    """Cancel ``row`` (a query for one row): at once if no worker runs it (it
    is resumable, queued or in one of ``also``) and then ``stopped_now()`` in
    the same transaction; else ask its worker. True if it stopped now."""
    now = timezone.now()
    with transaction.atomic():
        stopped = row.filter(resumable(now) | Q(state__in=[QUEUED, *also])).update(
            state=CANCELLED,
            lease="",
            sealed_token=None,
            finished_at=now,
            stop_reason=CANCELLED_REASON,
            stop_key=CANCELLED_KEY,
        )
        if stopped:
            stopped_now()
        else:
            row.filter(state=RUNNING).update(cancel_requested=True)
    return bool(stopped)


class Stopped(Exception):
    """The run ends early; ``state``, ``reason`` and ``key`` say how and why."""

    def __init__(self, state: str, reason: str, key: str) -> None:
        super().__init__(reason)
        self.state, self.reason, self.key = state, reason, key


class LeaseLost(Exception):
    """Another run (a resume) or a cancel took the row over."""


@dataclass(frozen=True)
class Wording:
    """How a kind of run speaks of itself in its log and its stop reasons."""

    #: In the worker's log: "import 12 failed".
    log_name: str
    #: An exception inside the panel.
    failed: str
    #: The worker is being stopped (SystemExit, a second Ctrl-C).
    interrupted: str
    #: The row has no sealed token.
    not_sealed: str
    #: The sealed token does not open with this process's keys.
    unsealable: str


Row = TypeVar("Row", bound=models.Model)


class LeasedRun(Generic[Row]):
    """One run of a task over one leased row.

    :meth:`run` takes the row, calls :meth:`_work` and records how it ended.
    ``_work`` raises :class:`Stopped` to end early, and calls :meth:`_beat`
    between steps (which raises :class:`LeaseLost` once the row is no longer
    this run's: the run then ends without writing the row).
    """

    wording: Wording
    purpose: Purpose
    #: The state a run that did all its work ends in.
    finished_state: str = FINISHED

    def __init__(self, model: type[Row], pk: int) -> None:
        self.pk = pk
        self.query = model._default_manager.filter(pk=pk)
        self.lease = uuid.uuid4().hex
        self.log = logging.getLogger(type(self).__module__)

    def run(self) -> str:
        """Run (or resume) the row; returns the state it ended in."""
        if not self._take():
            return "not-queued"  # cancelled meanwhile, or another worker has it
        row = self.query.get()
        try:
            self._work(row)
        except Stopped as stop:
            self._end(row, stop.state, stop.reason, stop.key)
        except LeaseLost:
            self.log.info(
                "%s %s: lease lost, another run or a cancel took over",
                self.wording.log_name,
                self.pk,
            )
            return "lease-lost"
        except Exception:
            self.log.exception("%s %s failed", self.wording.log_name, self.pk)
            self._end(row, FAILED, self.wording.failed, "PanelError")
        except BaseException:
            # The worker is being stopped: leave the row resumable; what was
            # in flight stays so (its outcome unknown).
            self._end(row, INTERRUPTED, self.wording.interrupted, "Interrupted")
            raise
        else:
            self._end(row, self.finished_state, "", "")
        state: str = self.query.values_list("state", flat=True).get()
        return state

    def _take(self, **fields: object) -> bool:
        """QUEUED -> RUNNING with this run's lease (and ``fields``)."""
        now = timezone.now()
        return bool(
            self.query.filter(state=QUEUED).update(
                state=RUNNING, lease=self.lease, heartbeat_at=now, run_started_at=now, **fields
            )
        )

    def _work(self, row: Row) -> None:
        raise NotImplementedError

    def _beat(self) -> bool:
        """Heartbeat; raises LeaseLost if the row is no longer ours. True if
        an operator asked to cancel."""
        if not self.query.filter(lease=self.lease).update(heartbeat_at=timezone.now()):
            raise LeaseLost()
        cancel_requested: bool = self.query.values_list("cancel_requested", flat=True).get()
        return cancel_requested

    def _token(self, sealed: bytes | memoryview | None) -> str:
        """The row's token for the worker, or Stopped if it has none that opens."""
        if not sealed:
            raise Stopped(FAILED, self.wording.not_sealed, "NoToken")
        try:
            return unseal(bytes(sealed), self.purpose)
        except UnsealError as exc:
            raise Stopped(FAILED, self.wording.unsealable, "UnsealError") from exc

    def _end(self, row: Row, state: str, reason: str, key: str) -> None:
        """Record how the run ended and wipe the token; only while the row is ours."""
        now = timezone.now()
        ended = self.query.filter(lease=self.lease).update(
            state=state,
            lease="",
            sealed_token=None,
            heartbeat_at=now,
            finished_at=now,
            stop_reason=reason[:500],
            stop_key=key[:100],
            cancel_requested=False,
            **self._end_fields(state),
        )
        if ended:
            row.refresh_from_db()
            self._ended(row, state, key)

    def _end_fields(self, state: str) -> dict[str, object]:
        """More of the row's fields to write, with ``state``, as the run ends."""
        return {}

    def _ended(self, row: Row, state: str, key: str) -> None:
        """What the app does once a run ended (the row read again)."""
