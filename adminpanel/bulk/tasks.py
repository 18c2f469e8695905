"""The apply task, run by the django-tasks worker (``manage.py db_worker``).

A run claims its plan (QUEUED -> RUNNING with a fresh lease), then keeps
``PANEL_BULK_CONCURRENCY`` rows in flight, as a pipeline (no chunk waits for
its slowest row):

1. whenever a thread is free, it beats the plan's heartbeat, checks its lease
   and the cancel flag, and claims as many PENDING rows as there are free
   threads: marks them APPLYING and commits, before any is written;
2. each row is applied in a thread (actions.apply_row, concurrency.py);
3. every few rows that ended, it records their outcomes and puts the
   generated passwords of those applied into the result file (results.py).

A worker that dies leaves the rows it was applying in APPLYING: resuming
marks those rows "outcome unknown" and never applies them again by itself,
so no row is applied twice. The worker acts as the operator who applied the
plan: the rows' audit records carry that operator and address, as if written
from the page.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, wait

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import task

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.session import Operator
from adminpanel.lib.sealing import Purpose, UnsealError, unseal
from adminpanel.servers import current

from . import results, runs
from .actions import RowOutcome, apply_row
from .concurrency import Workers
from .models import BulkPlan, BulkRow, PlanState, RowState

log = logging.getLogger(__name__)


@task()
def apply_plan(plan_id: int) -> str:
    """Apply (or resume) plan ``plan_id``; returns the state it ended in."""
    return BulkRun(plan_id).run()


class _Stopped(Exception):
    def __init__(self, state: PlanState, reason: str, key: str) -> None:
        super().__init__(reason)
        self.state, self.reason, self.key = state, reason, key


class _LeaseLost(Exception):
    pass


def acting_for(plan: BulkPlan, token: str) -> Acting:
    """The operator who applied the plan, as users/actions.py needs it."""
    server = current.by_name(plan.server)
    if server is None:
        raise _Stopped(
            PlanState.FAILED,
            f"This worker writes to the mail server “{current.default().name}”, but the plan "
            f"was made for “{plan.server}”.",
            "WrongServer",
        )
    now = time.time()
    operator = Operator(
        token=token,
        name=plan.operator_name or None,
        is_admin=plan.operator_is_admin,
        server=plan.server,
        signed_in_at=now,
        expires_at=plan.operator_expires_at,
        last_seen=now,
        signed_in_as=plan.operator_signed_in_as or None,
        admin_token=plan.operator_admin_token,
        powers_checked_at=now,
    )
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = plan.client_address or ""
    setattr(request, "operator", operator)  # what the audit record reads  # noqa: B010
    return Acting(request, server, operator)


class BulkRun:
    def __init__(self, plan_id: int) -> None:
        self.plan_id = plan_id
        self.lease = uuid.uuid4().hex
        self.concurrency: int = settings.PANEL_BULK_CONCURRENCY

    def run(self) -> str:
        results.sweep()
        now = timezone.now()
        plan_rows = BulkRow.objects.filter(plan_id=self.plan_id, state=RowState.APPLIED)
        claimed = BulkPlan.objects.filter(pk=self.plan_id, state=PlanState.QUEUED).update(
            state=PlanState.RUNNING,
            lease=self.lease,
            heartbeat_at=now,
            run_started_at=now,
            run_start_done=plan_rows.count(),
        )
        if not claimed:
            return "not-queued"
        plan = BulkPlan.objects.get(pk=self.plan_id)
        try:
            self._run(plan)
        except _Stopped as stop:
            self._end(plan, stop.state, stop.reason, stop.key)
        except _LeaseLost:
            log.info("bulk plan %s: lease lost, another run or a cancel took over", plan.pk)
            return "lease-lost"
        except Exception:
            log.exception("bulk plan %s failed", plan.pk)
            self._end(
                plan,
                PlanState.FAILED,
                "Applying failed inside the panel (the error is in the worker's log). "
                "Resume it to apply the remaining rows.",
                "PanelError",
            )
        except BaseException:
            self._end(plan, PlanState.INTERRUPTED, "The worker stopped.", "Interrupted")
            raise
        else:
            self._end(plan, PlanState.FINISHED, "", "")
        return BulkPlan.objects.values_list("state", flat=True).get(pk=plan.pk)

    def _token(self, plan: BulkPlan) -> str:
        if not plan.sealed_token:
            raise _Stopped(PlanState.FAILED, "The plan has no token; resume it.", "NoToken")
        try:
            return unseal(bytes(plan.sealed_token), Purpose.BULK_PLAN)
        except UnsealError as exc:
            raise _Stopped(
                PlanState.FAILED,
                "The plan's token cannot be opened: the panel's SECRET_KEY differs between "
                "the web process and the worker, or changed. Resume it to give it a new one.",
                "UnsealError",
            ) from exc

    def _run(self, plan: BulkPlan) -> None:
        acting = acting_for(plan, self._token(plan))

        def apply(row: BulkRow) -> RowOutcome:
            return apply_row(acting, row, _password(row))

        queued: list[BulkRow] = []  # claimed, not yet handed to a thread
        running: dict[Future[RowOutcome], BulkRow] = {}
        ended: list[tuple[BulkRow, RowOutcome]] = []  # outcomes not yet recorded
        stop: RowOutcome | None = None
        cancelled = exhausted = False
        with Workers(self.concurrency) as workers:
            try:
                while True:
                    free = self.concurrency - len(running)
                    if free and not (queued or exhausted or cancelled or stop):
                        # Only as many as there are free threads: a row claimed
                        # is handed out at once, so a worker that dies leaves
                        # no row "unknown" that was never sent.
                        with workers.database():
                            cancelled = self._beat(plan)
                            queued = [] if cancelled else self._claim(plan, free)
                        exhausted = not queued
                    while queued and stop is None and len(running) < self.concurrency:
                        row = queued.pop(0)
                        running[workers.submit(apply, row)] = row
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        outcome = future.result()
                        ended.append((running.pop(future), outcome))
                        if outcome.stops_run and stop is None:
                            stop = outcome
                    if len(ended) >= self.concurrency or not running:
                        with workers.database():
                            self._record(plan, ended)
                        ended = []
            finally:
                with workers.database():
                    try:
                        self._release(queued)
                    finally:
                        self._record(plan, ended)
        if cancelled:
            runs.cancel_pending(plan)
            raise _Stopped(PlanState.CANCELLED, "Cancelled by an operator.", "cancelled")
        if stop is not None:
            raise _Stopped(
                PlanState.FAILED,
                stop.message + " Applying stopped; the rows not yet applied are kept, and "
                "resuming applies only those.",
                stop.key,
            )

    def _release(self, rows: list[BulkRow]) -> None:
        """Rows claimed but never handed to a thread: back to waiting."""
        BulkRow.objects.filter(
            pk__in=[row.pk for row in rows], claim=self.lease, state=RowState.APPLYING
        ).update(state=RowState.PENDING, claim="")

    def _beat(self, plan: BulkPlan) -> bool:
        if not BulkPlan.objects.filter(pk=plan.pk, lease=self.lease).update(
            heartbeat_at=timezone.now()
        ):
            raise _LeaseLost()
        cancel: bool = BulkPlan.objects.values_list("cancel_requested", flat=True).get(pk=plan.pk)
        return cancel

    def _claim(self, plan: BulkPlan, size: int) -> list[BulkRow]:
        with transaction.atomic():
            ids = list(
                plan.rows.filter(state=RowState.PENDING)
                .order_by("line")
                .values_list("id", flat=True)[:size]
            )
            plan.rows.filter(id__in=ids, state=RowState.PENDING).update(
                state=RowState.APPLYING, claim=self.lease
            )
        return list(
            plan.rows.filter(id__in=ids, state=RowState.APPLYING, claim=self.lease).order_by("line")
        )

    def _record(self, plan: BulkPlan, ended: list[tuple[BulkRow, RowOutcome]]) -> None:
        if not ended:
            return
        generated: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for row, outcome in ended:
                state = RowState.PENDING if outcome.not_sent else outcome.state
                keep_password = state == RowState.PENDING
                if row.password_generated and state in (RowState.APPLIED, RowState.UNKNOWN):
                    note = (
                        "" if state == RowState.APPLIED else "outcome unknown: " + outcome.message
                    )
                    generated.append((row.name, _password(row) or "", note[:300]))
                BulkRow.objects.filter(pk=row.pk, claim=self.lease, state=RowState.APPLYING).update(
                    state=state,
                    claim="" if state == RowState.PENDING else self.lease,
                    outcome_key=outcome.key[:100],
                    outcome=outcome.message,
                    sealed_password=row.sealed_password if keep_password else None,
                    password_exported=bool(row.password_generated and not keep_password),
                )
            results.add(plan, generated)

    def _end(self, plan: BulkPlan, state: PlanState, reason: str, key: str) -> None:
        now = timezone.now()
        ended = BulkPlan.objects.filter(pk=plan.pk, lease=self.lease).update(
            state=state,
            lease="",
            sealed_token=None,
            heartbeat_at=now,
            finished_at=now,
            stop_reason=reason[:500],
            stop_key=key[:100],
            cancel_requested=False,
        )
        if not ended:
            return  # a resume owns the rows' passwords now, or a cancel wiped them
        plan.refresh_from_db()
        if state in (PlanState.FINISHED, PlanState.CANCELLED):
            plan.rows.update(sealed_password=None)


def _password(row: BulkRow) -> str | None:
    if not row.sealed_password:
        return None
    return unseal(bytes(row.sealed_password), Purpose.BULK_PASSWORD)
