"""The writes of a plan's page: apply, resume and cancel, each audited.

Applying and resuming hand the worker a sealed token narrowed to the
operator's session end, so they are audited as an import's start is
(mail/actions.py): who queued which plan, from where, on which server. The
rows' own writes are audited one by one by the worker (actions.apply_row).
"""

from __future__ import annotations

from collections.abc import Callable

from adminpanel.accounts.acting import Acting
from adminpanel.audit.record import Action, record
from adminpanel.lib.refusal import Refusal
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.pymap.tokens import attenuate_until

from . import runs
from .models import WRITING_KINDS, BulkPlan, Kind, RowState
from .reading import read_plan
from .tasks import apply_plan

#: What the plan's page asks: apply, resume or cancel.
PlanChange = Callable[[Acting, BulkPlan], None]


class PlanNotChanged(Refusal):
    """The plan is not in a state that allows this; ``message`` is for the 409 page."""

    status = 409


def _sealed_token(acting: Acting) -> bytes:
    operator = acting.operator
    return seal(attenuate_until(operator.token, operator.expires), Purpose.BULK_PLAN)


def _record(acting: Acting, plan: BulkPlan, detail: str) -> None:
    # No target: a plan names many users. The detail names the plan (audit/links.py).
    record(acting, Action.BULK_APPLY, detail=f"plan {plan.pk} {detail}")


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''} to write"


def apply(acting: Acting, plan: BulkPlan) -> None:
    """PLANNED -> QUEUED, and the task enqueued."""
    if not runs.can_apply(plan) or not runs.queue(
        plan, _sealed_token(acting), acting.operator.identity
    ):
        raise PlanNotChanged(
            "This plan cannot be applied: it was applied already, "
            "cancelled, or has nothing to write."
        )
    apply_plan.enqueue(plan.pk)
    _record(acting, plan, "queued: " + _rows(plan.rows.filter(kind__in=WRITING_KINDS).count()))


def resume(acting: Acting, plan: BulkPlan) -> None:
    """A stopped plan queued again, with a fresh token."""
    if not runs.can_resume(plan) or not runs.resume(plan, _sealed_token(acting)):
        raise PlanNotChanged(
            "This plan cannot be resumed: a worker is applying it, or nothing is left to apply."
        )
    if plan.reading:
        read_plan.enqueue(plan.pk)
        unread = plan.rows.filter(kind=Kind.UNREAD).count()
        _record(acting, plan, f"resumed reading: {unread} user{'s' if unread != 1 else ''} to read")
        return
    apply_plan.enqueue(plan.pk)
    _record(acting, plan, "resumed: " + _rows(plan.rows.filter(state=RowState.PENDING).count()))


def cancel(acting: Acting, plan: BulkPlan) -> None:
    """Cancelled at once if no worker runs it, else the worker is asked to stop."""
    if not runs.can_cancel(plan):
        raise PlanNotChanged("This plan has ended: there is nothing to cancel.")
    stopped = runs.cancel(plan)
    _record(acting, plan, "cancelled" if stopped else "cancel asked of the worker")
