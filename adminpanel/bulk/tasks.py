"""The apply task, run by the django-tasks worker (``manage.py db_worker``).

A run claims its plan (QUEUED -> RUNNING with a fresh lease), then works in
chunks, as the import task does (mail/tasks.py):

1. claim the next few PENDING rows: mark them APPLYING and commit, before any
   of them is written;
2. apply them (actions.apply_row) a few at a time (concurrency.py);
3. record each outcome, put the generated passwords of the rows applied into
   the result file (results.py), and beat the plan's heartbeat.

Between chunks it checks its lease and the cancel flag. A worker that dies in
step 2 leaves that chunk in APPLYING: resuming marks those rows "outcome
unknown" and never applies them again by itself, so no row is applied twice.
The worker acts as the operator who applied the plan: the rows' audit records
carry that operator and address, as if written from the page.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import task

from adminpanel.accounts.session import Operator
from adminpanel.lib.sealing import Purpose, UnsealError, unseal
from adminpanel.servers import current
from adminpanel.users.actions import Acting

from . import results, runs
from .actions import RowOutcome, apply_row
from .concurrency import run_all
from .models import BulkPlan, BulkRow, PlanState, RowState

log = logging.getLogger(__name__)

#: Rows per chunk, per unit of concurrency.
CHUNK_ROUNDS = 4


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
        while True:
            if self._beat(plan):
                runs.cancel_pending(plan)
                raise _Stopped(PlanState.CANCELLED, "Cancelled by an operator.", "cancelled")
            chunk = self._claim(plan)
            if not chunk:
                return
            outcomes = run_all(
                chunk, lambda row: apply_row(acting, row, _password(row)), self.concurrency
            )
            self._record(plan, chunk, outcomes)
            stops = [outcome for outcome in outcomes if outcome.stops_run]
            if stops:
                raise _Stopped(
                    PlanState.FAILED,
                    stops[0].message + " Applying stopped; the rows not yet applied are "
                    "kept, and resuming applies only those.",
                    stops[0].key,
                )

    def _beat(self, plan: BulkPlan) -> bool:
        if not BulkPlan.objects.filter(pk=plan.pk, lease=self.lease).update(
            heartbeat_at=timezone.now()
        ):
            raise _LeaseLost()
        cancel: bool = BulkPlan.objects.values_list("cancel_requested", flat=True).get(pk=plan.pk)
        return cancel

    def _claim(self, plan: BulkPlan) -> list[BulkRow]:
        size = max(8, self.concurrency * CHUNK_ROUNDS)
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

    def _record(self, plan: BulkPlan, chunk: list[BulkRow], outcomes: list[RowOutcome]) -> None:
        generated: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for row, outcome in zip(chunk, outcomes, strict=True):
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
        BulkPlan.objects.filter(pk=plan.pk, lease=self.lease).update(
            state=state,
            lease="",
            sealed_token=None,
            heartbeat_at=now,
            finished_at=now,
            stop_reason=reason[:500],
            stop_key=key[:100],
            cancel_requested=False,
        )
        plan.refresh_from_db()
        if state in (PlanState.FINISHED, PlanState.CANCELLED):
            plan.rows.update(sealed_password=None)


def _password(row: BulkRow) -> str | None:
    if not row.sealed_password:
        return None
    return unseal(bytes(row.sealed_password), Purpose.BULK_PASSWORD)
