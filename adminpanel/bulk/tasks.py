"""The apply task, run by the django-tasks worker (``manage.py db_worker``).

A run claims its plan (QUEUED -> RUNNING with a fresh lease; the lease, the
heartbeat and how a run ends are ``adminpanel/lib/leased_run.py``'s, shared
with imports), then keeps
``PANEL_BULK_CONCURRENCY`` rows in flight, as a pipeline (no chunk waits for
its slowest row):

1. whenever a thread is free, it beats the plan's heartbeat, checks its lease
   and the cancel flag, and claims as many PENDING rows as there are free
   threads: marks them APPLYING and commits, before any is written;
2. each row is applied in a thread (actions.apply_row, concurrency.py);
3. every few rows that ended, it records their outcomes and puts the
   generated passwords of those applied into the result file (password_file.py).

A worker that dies leaves the rows it was applying in APPLYING: resuming
marks those rows "outcome unknown" and never applies them again by itself,
so no row is applied twice. The worker acts as the operator who applied the
plan: the rows' audit records carry that operator and address, as if written
from the page.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, wait

from django.conf import settings
from django.db import transaction
from django_tasks import task

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.session import Operator
from adminpanel.lib.leased_run import CANCELLED_KEY, CANCELLED_REASON, LeasedRun, Stopped, Wording
from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.servers import current

from . import password_file, runs
from .actions import RowOutcome, apply_row
from .concurrency import Workers
from .models import BulkPlan, BulkRow, PlanState, RowState


@task()
def apply_plan(plan_id: int) -> str:
    """Apply (or resume) plan ``plan_id``; returns the state it ended in."""
    return BulkRun(plan_id).run()


def acting_for(plan: BulkPlan, token: str) -> Acting:
    """The operator who applied the plan, as users/actions.py needs it."""
    server = current.by_name(plan.server)
    if server is None:
        raise Stopped(
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
    return Acting(server, operator, plan.client_address or None)


class BulkRun(LeasedRun[BulkPlan]):
    purpose = Purpose.BULK_PLAN
    wording = Wording(
        log_name="bulk plan",
        failed="Applying failed inside the panel (the error is in the worker's log). "
        "Resume it to apply the remaining rows.",
        interrupted="The worker stopped.",
        not_sealed="The plan has no token; resume it.",
        unsealable="The plan's token cannot be opened: the panel's SECRET_KEY differs between "
        "the web process and the worker, or changed. Resume it to give it a new one.",
    )

    def __init__(self, plan_id: int) -> None:
        super().__init__(BulkPlan, plan_id)
        self.concurrency: int = settings.PANEL_BULK_CONCURRENCY

    def _take(self, **fields: object) -> bool:
        password_file.sweep()
        applied = BulkRow.objects.filter(plan_id=self.pk, state=RowState.APPLIED)
        return super()._take(run_start_done=applied.count(), **fields)

    def _work(self, plan: BulkPlan) -> None:
        acting = acting_for(plan, self._token(plan.sealed_token))

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
                            cancelled = self._beat()
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
            raise Stopped(PlanState.CANCELLED, CANCELLED_REASON, CANCELLED_KEY)
        if stop is not None:
            raise Stopped(
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
            password_file.add(plan, generated)

    def _ended(self, plan: BulkPlan, state: str, key: str) -> None:
        """A plan that will not run again needs no password."""
        if state in (PlanState.FINISHED, PlanState.CANCELLED):
            plan.rows.update(sealed_password=None)


def _password(row: BulkRow) -> str | None:
    if not row.sealed_password:
        return None
    return unseal(bytes(row.sealed_password), Purpose.BULK_PASSWORD)
