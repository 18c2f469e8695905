"""Starting a plan from an upload, and applying one planned row, through the
user pages' own actions.

Creates and updates go through ``users.actions.create_user`` and
``edit_user``: they never replace an existing user, compare the record with
the version the plan was made from (its entity tag where the backend checks
tags, else its roles, params and password fingerprint: maildir), write, read
back what was stored, and record one audit event. A delete is checked the
same way here before ``users.actions.delete_user``. A user changed since the
plan is a *conflict*: reported, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.acting import Acting
from adminpanel.audit.record import Action, record
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.tokens import attenuate_until
from adminpanel.users import actions, records
from adminpanel.users.editable import PasswordAction
from adminpanel.users.merge import UserValues, Version, unchanged_since

from .intake import PlanSpec, create_plan
from .models import BulkPlan, BulkRow, Kind, RowState

CREATED_MEANWHILE = "A user of this name was created since the plan was made. Nothing was written."
DELETED_MEANWHILE = "The user was deleted since the plan was made. Nothing was written."
CHANGED_MEANWHILE = "The user was changed since the plan was made. Nothing was written."


def start_plan(acting: Acting, uploaded: UploadedFile) -> BulkPlan:
    """Store the upload's rows and queue the worker that reads their users
    (reading.py) with the operator's token, narrowed to the session's end and
    sealed, audited as an apply's queueing is (plan_actions.py); raises
    ``csvfile.FileRefused`` for a file that cannot be read."""
    operator = acting.operator
    spec = PlanSpec(operator, acting.client_address, acting.server, acting.caps)
    sealed = seal(attenuate_until(operator.token, operator.expires), Purpose.BULK_PLAN)
    made = create_plan(spec, uploaded, sealed)
    # Imported here: the reading task imports the apply task's module, which
    # imports this one (apply_row).
    from .reading import read_plan

    read_plan.enqueue(made.pk)
    unread = made.rows.filter(kind=Kind.UNREAD).count()
    record(
        acting,
        Action.BULK_APPLY,
        detail=f"plan {made.pk} reading: {unread} user{'s' if unread != 1 else ''} to read",
    )
    return made


@dataclass(frozen=True)
class RowOutcome:
    state: RowState
    key: str = ""
    message: str = ""
    #: The same would happen to every row (the token died, the server is
    #: unreachable): the run stops and the rows not yet sent stay pending.
    stops_run: bool = False
    #: The row was certainly not written (so it may be sent again later).
    not_sent: bool = False


def _base(row: BulkRow) -> UserValues:
    return UserValues.of(row.base_roles, row.base_params)


def _version(row: BulkRow) -> Version:
    """The version the row was planned against."""
    tag = int(row.base_tag) if row.base_tag else None
    return Version(tag, _base(row), row.base_fingerprint)


def _delete(acting: Acting, row: BulkRow) -> None:
    try:
        current = records.read(acting.server, acting.operator, row.name)
    except Refused as exc:
        if not exc.is_(RefusalKey.USER_NOT_FOUND):
            raise
        record(
            acting,
            Action.USER_DELETE,
            target=row.name,
            outcome=exc.key,
            detail="bulk: deleted since the plan was made",
        )
        raise actions.DeletedMeanwhile from exc
    if not unchanged_since(_version(row), current, acting.caps):
        record(
            acting,
            Action.USER_DELETE,
            target=row.name,
            outcome=RefusalKey.CANNOT_REPLACE_USER,
            detail="bulk: changed since the plan was made",
        )
        raise actions.ChangedMeanwhile(current)
    actions.delete_user(acting, row.name)


def _applied(saved: actions.Saved | None) -> RowOutcome:
    if saved is not None and saved.differences:
        return RowOutcome(RowState.APPLIED, message="As stored: " + "; ".join(saved.differences))
    return RowOutcome(RowState.APPLIED)


@sensitive_variables("password")
def apply_row(acting: Acting, row: BulkRow, password: str | None) -> RowOutcome:
    """Write one row; never raises for what pymap or a second writer did."""
    wanted = UserValues.of(row.roles, row.params)
    try:
        if row.kind == Kind.CREATE:
            return _applied(actions.create_user(acting, row.name, password=password, wanted=wanted))
        if row.kind == Kind.UPDATE:
            edit = actions.Edit(
                base=_base(row),
                entity_tag=int(row.base_tag or 0),
                password_fingerprint=row.base_fingerprint,
                yours=wanted,
                password_action=PasswordAction.NEW,
                password=password,
            )
            return _applied(actions.edit_user(acting, row.name, edit))
        if row.kind == Kind.DELETE:
            _delete(acting, row)
            return _applied(None)
    except actions.AlreadyExists:
        return RowOutcome(RowState.CONFLICT, RefusalKey.CANNOT_REPLACE_USER, CREATED_MEANWHILE)
    except actions.DeletedMeanwhile:
        return RowOutcome(RowState.CONFLICT, RefusalKey.USER_NOT_FOUND, DELETED_MEANWHILE)
    except (actions.ChangedMeanwhile, actions.ChangedButUnreadable):
        return RowOutcome(RowState.CONFLICT, RefusalKey.CANNOT_REPLACE_USER, CHANGED_MEANWHILE)
    except actions.NotEditable as exc:
        return RowOutcome(RowState.CONFLICT, "NotEditable", "The stored user changed: " + str(exc))
    except actions.NothingToSave as exc:
        return RowOutcome(RowState.APPLIED, message=exc.message)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH):
            return RowOutcome(
                RowState.PENDING,
                exc.key,
                "The mail server no longer accepts the token the plan is applied with "
                "(the session ended or was signed out).",
                stops_run=True,
                not_sent=True,
            )
        return RowOutcome(RowState.FAILED, exc.key, exc.message or exc.key)
    except PymapError as exc:
        # Unreachable, timed out, failed inside: it may or may not have been written.
        return RowOutcome(RowState.UNKNOWN, exc.outcome, exc.message, stops_run=True)
    raise ValueError(f"row {row.pk} has nothing to apply ({row.kind})")
