"""What the pages do to a plan: queue it, cancel, resume, read progress.

Each change of state is one conditional UPDATE, so a page and a worker acting
at once cannot both win (as for imports, mail/jobs.py). A run holds a lease
(``adminpanel/lib/leased_run.py``, shared with imports); resuming or
cancelling takes it away, and a worker that lost it stops claiming rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from adminpanel.accounts.identity import Identity
from adminpanel.accounts.session import Operator
from adminpanel.lib import leased_run

from .models import (
    FINAL_ROW_STATES,
    WRITING_KINDS,
    BulkPlan,
    Kind,
    PlanState,
    RowState,
)

UNKNOWN_REASON = (
    "The worker stopped while this row was being applied: it may or may not have been "
    "written. Open the user to see."
)
CANCELLED_REASON = "Not applied: the plan was cancelled."


def visible_to(operator: Operator) -> QuerySet[BulkPlan]:
    """Bulk plans need rights over other users: admins see every plan made
    for the server they are signed in to (never another server's: its rows,
    its apply and its passwords are that server's)."""
    if operator.is_admin:
        return BulkPlan.objects.filter(server=operator.server)
    return BulkPlan.objects.none()


def shown_state(plan: BulkPlan) -> PlanState:
    if leased_run.is_stale(plan):
        return PlanState.INTERRUPTED
    if plan.reading and plan.state in (PlanState.QUEUED, PlanState.RUNNING):
        return PlanState.READING
    return PlanState(plan.state)


def kind_totals(plan: BulkPlan) -> dict[str, int]:
    found = dict.fromkeys(Kind.values, 0)
    for row in plan.rows.values("kind").annotate(n=Count("id")):
        found[row["kind"]] = row["n"]
    return found


@dataclass(frozen=True)
class Progress:
    state: PlanState
    total: int
    counts: dict[str, int]
    rate: float | None
    #: Seconds of the current (or last) run.
    elapsed_seconds: float | None = None

    @property
    def done(self) -> int:
        return sum(self.counts[state] for state in FINAL_ROW_STATES)

    @property
    def failures(self) -> int:
        return sum(self.counts[s] for s in (RowState.CONFLICT, RowState.FAILED, RowState.UNKNOWN))

    @property
    def waiting(self) -> int:
        return self.counts[RowState.PENDING] + self.counts[RowState.APPLYING]

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, int(100 * self.done / self.total))

    @property
    def is_final(self) -> bool:
        return self.state in (PlanState.FINISHED, PlanState.CANCELLED, PlanState.FAILED)

    def texts(self) -> dict[str, str]:
        rate = f"{self.rate:.1f} rows/s" if self.rate is not None else "not yet known"
        return {
            "state_label": self.state.label,
            "done": f"{self.done:,}",
            "total": f"{self.total:,}",
            "percent": f"{self.percent}%",
            "applied": f"{self.counts[RowState.APPLIED]:,}",
            "conflict": f"{self.counts[RowState.CONFLICT]:,}",
            "failed": f"{self.counts[RowState.FAILED]:,}",
            "unknown": f"{self.counts[RowState.UNKNOWN]:,}",
            "cancelled": f"{self.counts[RowState.CANCELLED]:,}",
            "waiting": f"{self.waiting:,}",
            "failures": f"{self.failures:,}",
            "rate": rate,
            "value_text": f"{self.done:,} of {self.total:,} rows done, {self.failures:,} failed",
        }

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "final": self.is_final,
            "total": self.total,
            "done": self.done,
            "percent": self.percent,
            "rate": self.rate,
            "elapsed_seconds": self.elapsed_seconds,
            "counts": self.counts,
            "texts": self.texts(),
        }


def _elapsed(plan: BulkPlan) -> float | None:
    """Seconds of the current (or last) run."""
    if plan.run_started_at is None:
        return None
    until = plan.finished_at or plan.heartbeat_at or timezone.now()
    if plan.state == PlanState.RUNNING and not leased_run.is_stale(plan):
        until = timezone.now()
    return (until - plan.run_started_at).total_seconds()


@dataclass(frozen=True)
class ReadProgress:
    """How far the worker has read the users of a plan it is making."""

    state: PlanState
    total: int
    #: Rows classified (refused at upload, or read).
    read: int
    rate: float | None

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, int(100 * self.read / self.total))

    @property
    def is_final(self) -> bool:
        return self.state in (PlanState.CANCELLED, PlanState.FAILED, PlanState.PLANNED)

    def texts(self) -> dict[str, str]:
        return {
            "state_label": self.state.label,
            "read": f"{self.read:,}",
            "total": f"{self.total:,}",
            "percent": f"{self.percent}%",
            "rate": f"{self.rate:.1f} rows/s" if self.rate is not None else "not yet known",
            "value_text": f"{self.read:,} of {self.total:,} rows read",
        }

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "final": self.is_final,
            "total": self.total,
            "read": self.read,
            "percent": self.percent,
            "rate": self.rate,
            "texts": self.texts(),
        }


def read_progress(plan: BulkPlan) -> ReadProgress:
    counts = plan.rows.aggregate(total=Count("id"), unread=Count("id", filter=Q(kind=Kind.UNREAD)))
    total = counts["total"]
    read = total - counts["unread"]
    elapsed = _elapsed(plan)
    rate = None
    if elapsed and plan.state != PlanState.QUEUED:
        rate = max(0, read - plan.run_start_done) / elapsed
    return ReadProgress(shown_state(plan), total, read, rate)


def progress(plan: BulkPlan) -> Progress:
    counts = dict.fromkeys(RowState.values, 0)
    for row in plan.rows.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    total = sum(n for state, n in counts.items() if state != RowState.NOT_APPLIED)
    rate = None
    elapsed = _elapsed(plan)
    if elapsed is not None and elapsed > 0:
        rate = max(0, counts[RowState.APPLIED] - plan.run_start_done) / elapsed
    return Progress(shown_state(plan), total, counts, rate, elapsed)


# --- what an operator may do ---------------------------------------------------------


def can_apply(plan: BulkPlan) -> bool:
    return (
        plan.state == PlanState.PLANNED
        and not plan.reading
        and plan.rows.filter(kind__in=WRITING_KINDS).exists()
    )


def can_cancel(plan: BulkPlan) -> bool:
    return plan.state in (
        PlanState.PLANNED,
        PlanState.QUEUED,
        PlanState.RUNNING,
        PlanState.INTERRUPTED,
        PlanState.FAILED,
    )


def can_resume(plan: BulkPlan) -> bool:
    if shown_state(plan) not in (PlanState.INTERRUPTED, PlanState.FAILED):
        return False
    if plan.reading:
        return plan.rows.filter(kind=Kind.UNREAD).exists()
    return plan.rows.filter(state__in=[RowState.PENDING, RowState.APPLYING]).exists()


def queue(plan: BulkPlan, sealed_token: bytes, applied_by: Identity) -> bool:
    """PLANNED -> QUEUED (the caller enqueues the task); False if it changed
    meanwhile. ``applied_by`` alone may then download the generated passwords."""
    updated = BulkPlan.objects.filter(pk=plan.pk, state=PlanState.PLANNED).update(
        state=PlanState.QUEUED,
        sealed_token=sealed_token,
        applied_by_kind=applied_by.kind,
        applied_by_name=applied_by.name[:300],
        applied_by_act_as=applied_by.act_as[:300],
    )
    plan.refresh_from_db()
    return bool(updated)


def _mark_in_flight_unknown(plan: BulkPlan) -> None:
    # Never sent again by itself: it may have been written.
    plan.rows.filter(state=RowState.APPLYING).update(
        state=RowState.UNKNOWN, outcome_key="Interrupted", outcome=UNKNOWN_REASON
    )


def resume(plan: BulkPlan, sealed_token: bytes) -> bool:
    """Resume a plan no worker runs; rows in flight when it stopped become unknown."""
    with transaction.atomic():
        updated = leased_run.requeue(
            BulkPlan.objects.filter(leased_run.resumable(timezone.now()), pk=plan.pk), sealed_token
        )
        if updated:
            _mark_in_flight_unknown(plan)
    plan.refresh_from_db()
    return bool(updated)


def cancel_pending(plan: BulkPlan) -> None:
    plan.rows.filter(state=RowState.PENDING).update(
        state=RowState.CANCELLED, outcome_key="Cancelled", outcome=CANCELLED_REASON
    )


def cancel(plan: BulkPlan) -> bool:
    """At once if no worker runs it, else ask the worker (True if stopped now)."""

    def stopped_now() -> None:
        _mark_in_flight_unknown(plan)
        cancel_pending(plan)
        plan.rows.update(sealed_password=None)

    stopped = leased_run.cancel(
        BulkPlan.objects.filter(pk=plan.pk), also=[PlanState.PLANNED], stopped_now=stopped_now
    )
    plan.refresh_from_db()
    return stopped
