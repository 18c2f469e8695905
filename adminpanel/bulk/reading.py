"""Making a plan: the worker's task that reads the users an upload names.

The upload stored each row the panel could check by itself as ``UNREAD``
(intake.py). This run takes the plan under the same lease as an apply
(``adminpanel/lib/leased_run.py``: QUEUED -> RUNNING, heartbeat, cancel,
resume; ``BulkPlan.reading`` says which of the two runs it is), then keeps
``PANEL_BULK_CONCURRENCY`` reads in flight as a pipeline (concurrency.py:
the calls overlap, the database statements do not) and, every few rows,
stores what they were classified as (plan.py) and beats the heartbeat.

Reads write nothing on the server, so a run that dies or is resumed simply
reads again the rows still UNREAD. A read refused for one user refuses that
row; a token no longer accepted or a server unreachable stops the run (the
rest stay UNREAD for Resume). Done, the plan is PLANNED and its page shows
the plan.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait

from django.conf import settings
from django.db import transaction
from django_tasks import task

from adminpanel.lib.leased_run import CANCELLED_KEY, CANCELLED_REASON, LeasedRun, Stopped, Wording
from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.pymap.errors import PymapError

from . import plan as planning
from .concurrency import Workers
from .intake import as_csv_row, planned_fields
from .models import BulkPlan, BulkRow, Kind, PlanState
from .tasks import acting_for


@task()
def read_plan(plan_id: int) -> str:
    """Read the users of plan ``plan_id`` (or the rest of them); returns the
    state it ended in (``planned`` when the plan is made)."""
    return PlanRead(plan_id).run()


class PlanRead(LeasedRun[BulkPlan]):
    purpose = Purpose.BULK_PLAN
    finished_state = PlanState.PLANNED
    wording = Wording(
        log_name="bulk plan (reading)",
        failed="Reading the users failed inside the panel (the error is in the worker's log). "
        "Resume it to read the rest.",
        interrupted="The worker stopped.",
        not_sealed="The plan has no token; resume it.",
        unsealable="The plan's token cannot be opened: the panel's SECRET_KEY differs between "
        "the web process and the worker, or changed. Resume it to give it a new one.",
    )

    def __init__(self, plan_id: int) -> None:
        super().__init__(BulkPlan, plan_id)
        self.concurrency: int = max(1, settings.PANEL_BULK_CONCURRENCY)
        #: Rows classified between two heartbeats (and database writes).
        self.record_every = 4 * self.concurrency

    def _take(self, **fields: object) -> bool:
        read = BulkRow.objects.filter(plan_id=self.pk).exclude(kind=Kind.UNREAD)
        return super()._take(run_start_done=read.count(), **fields)

    def _work(self, plan: BulkPlan) -> None:
        acting = acting_for(plan, self._token(plan.sealed_token))
        ctx = planning.Context(acting.server, acting.operator, acting.caps)

        def read(row: BulkRow) -> planning.PlannedRow | PymapError:
            try:
                return planning.read_and_classify(as_csv_row(row, _password(row)), ctx)
            except PymapError as exc:
                return exc

        unread = iter(plan.rows.filter(kind=Kind.UNREAD).order_by("line"))
        running: dict[Future[planning.PlannedRow | PymapError], BulkRow] = {}
        ended: list[tuple[BulkRow, planning.PlannedRow]] = []  # not yet stored
        stop: PymapError | None = None
        cancelled = False
        with Workers(self.concurrency) as workers:
            try:
                while True:
                    while stop is None and not cancelled and len(running) < self.concurrency:
                        row = next(unread, None)
                        if row is None:
                            break
                        running[workers.submit(read, row)] = row
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        row, result = running.pop(future), future.result()
                        if isinstance(result, PymapError):
                            stop = stop or result
                        else:
                            ended.append((row, result))
                    if len(ended) >= self.record_every or not running:
                        with workers.database():
                            self._record(ended)
                            ended = []
                            cancelled = self._beat()
            finally:
                with workers.database():
                    self._record(ended)
        if cancelled:
            raise Stopped(PlanState.CANCELLED, CANCELLED_REASON, CANCELLED_KEY)
        if stop is not None:
            raise Stopped(
                PlanState.FAILED,
                f"Reading the users stopped: {stop.message} The rows not yet read are kept; "
                "resuming reads only those.",
                stop.outcome,
            )

    def _record(self, ended: list[tuple[BulkRow, planning.PlannedRow]]) -> None:
        if not ended:
            return
        with transaction.atomic():
            for row, item in ended:
                BulkRow.objects.filter(pk=row.pk, kind=Kind.UNREAD).update(**planned_fields(item))

    def _end_fields(self, state: str) -> dict[str, object]:
        return {"reading": False} if state == PlanState.PLANNED else {}

    def _ended(self, plan: BulkPlan, state: str, key: str) -> None:
        """A plan whose reading was cancelled will never send a password."""
        if state == PlanState.CANCELLED:
            plan.rows.update(sealed_password=None)


def _password(row: BulkRow) -> str | None:
    if not row.sealed_password:
        return None
    return unseal(bytes(row.sealed_password), Purpose.BULK_PASSWORD)
