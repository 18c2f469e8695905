"""Making a plan: the worker's task that reads the users an upload names.

The upload stored each row the panel could check by itself as ``UNREAD``
(intake.py). This run takes the plan under the same lease as an apply
(``adminpanel/lib/leased_run.py``: QUEUED -> RUNNING, heartbeat, cancel,
resume; ``BulkPlan.reading`` says which of the two runs it is), then reads
the rows in batches of a few, ``PANEL_BULK_CONCURRENCY`` reads in flight:
while one batch is classified (plan.py), stored and the heartbeat beaten,
the next is being read. Where one GetUser is a user's own record, a batch's
reads run together on the gRPC loop (``service.UserReads``); else each row
is read in a thread of its own (concurrency.py: the calls overlap, the
database statements do not).

Reads write nothing on the server, so a run that dies or is resumed simply
reads again the rows still UNREAD. A read refused for one user refuses that
row; a token no longer accepted or a server unreachable stops the run (the
rest stay UNREAD for Resume). Done, the plan is PLANNED and its page shows
the plan.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from contextlib import suppress
from itertools import islice

from django.conf import settings
from django.db import transaction
from django_tasks import task

from adminpanel.lib.leased_run import CANCELLED_KEY, CANCELLED_REASON, LeasedRun, Stopped, Wording
from adminpanel.lib.many_rows import update_each
from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError
from adminpanel.pymap.results import UserRecord
from adminpanel.users import records

from . import plan as planning
from .concurrency import Workers
from .csvfile import CsvRow
from .intake import UNREAD_FIELDS, as_csv_row, planned_fields
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
        # Only what as_csv_row() needs: the rest (JSON, mostly) is not decoded.
        unread = iter(plan.rows.filter(kind=Kind.UNREAD).order_by("line").only(*UNREAD_FIELDS))
        stop: PymapError | None = None
        cancelled = False
        with Workers(self.concurrency) as workers:
            reader = _Reader(ctx, workers, self.concurrency)
            pending: deque[Collect] = deque()
            try:
                while True:
                    while len(pending) <= BATCHES_AHEAD and not (stop or cancelled):
                        rows = list(islice(unread, self.record_every))
                        if not rows:
                            break
                        pending.append(reader.start(rows))
                    if not pending:
                        break
                    read: list[tuple[BulkRow, planning.PlannedRow]] = []
                    for row, result in pending.popleft()():
                        if isinstance(result, PymapError):
                            stop = stop or result
                        else:
                            read.append((row, result))
                    with workers.database():
                        self._record(read)
                        cancelled = cancelled or self._beat()
            finally:
                for collect in pending:
                    # An error above: let the batches' reads end; their rows
                    # stay UNREAD and a resume reads them again.
                    with suppress(Exception):
                        collect()
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
        """Store what the rows were classified as: one statement for them all."""
        with transaction.atomic():
            update_each(
                BulkRow,
                [(row.pk, planned_fields(item)) for row, item in ended],
                where={"kind": Kind.UNREAD},
            )

    def _end_fields(self, state: str) -> dict[str, object]:
        return {"reading": False} if state == PlanState.PLANNED else {}

    def _ended(self, plan: BulkPlan, state: str, key: str) -> None:
        """A plan whose reading was cancelled will never send a password."""
        if state == PlanState.CANCELLED:
            plan.rows.update(sealed_password=None)


#: Batches being read while one is classified and stored: the reads (bounded
#: by the concurrency, not by this) never wait for the database's turn.
BATCHES_AHEAD = 2

Read = planning.PlannedRow | PymapError
Collect = Callable[[], list[tuple[BulkRow, Read]]]


class _Reader:
    """Reads a batch of rows' users and classifies them. Where one GetUser is
    the user's own record (records.read_once_is_own), the batch's reads run
    together on the loop and are classified in the calling thread; else
    (pymap's admin token where roles merge) each row is read by records.read
    in a worker thread. Both keep at most ``concurrency`` reads in flight."""

    def __init__(self, ctx: planning.Context, workers: Workers, concurrency: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self._reads = service.UserReads(ctx.server, ctx.operator.token, concurrency)

    def start(self, rows: list[BulkRow]) -> Collect:
        """Start reading ``rows``; what they were classified as from the result."""
        given = [as_csv_row(row, _password(row)) for row in rows]
        ctx = self.ctx
        with self.workers.database():  # what is known of the backend may be read there
            at_once = records.read_once_is_own(ctx.server, ctx.operator)
        if not at_once:
            futures = [self.workers.submit(_read_and_classify, (row, ctx)) for row in given]
            return lambda: [(row, f.result()) for row, f in zip(rows, futures, strict=True)]
        batch = self._reads.start(row.name for row in given)

        def collect() -> list[tuple[BulkRow, Read]]:
            results = batch.result()
            with self.workers.database():  # what is learnt may go to the database
                return [
                    (row, _classify(csv_row, result, ctx))
                    for row, csv_row, result in zip(rows, given, results, strict=True)
                ]

        return collect


def _read_and_classify(item: tuple[CsvRow, planning.Context]) -> Read:
    row, ctx = item
    try:
        return planning.read_and_classify(row, ctx)
    except PymapError as exc:
        return exc


def _classify(row: CsvRow, result: UserRecord | PymapError, ctx: planning.Context) -> Read:
    if isinstance(result, UserRecord):
        records.learn_from(ctx.server, result)
    try:
        return planning.classify_read(row, result, ctx)
    except PymapError as exc:
        return exc


def _password(row: BulkRow) -> str | None:
    if not row.sealed_password:
        return None
    return unseal(bytes(row.sealed_password), Purpose.BULK_PASSWORD)
