"""What the dashboard shows of the panel's own records: the latest changes,
imports and failed sign-ins the operator may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from adminpanel.accounts.session import Operator
from adminpanel.audit.links import target_url
from adminpanel.audit.models import OK, Action, AuditEvent
from adminpanel.audit.visibility import visible_to
from adminpanel.mail import jobs
from adminpanel.mail.models import ImportJob, JobState

#: How many of each the dashboard lists.
SHOWN = 5
#: Failed sign-ins are counted over this window.
FAILED_SIGN_IN_WINDOW = timedelta(hours=24)
CHANGES = (
    Action.USER_CREATE,
    Action.USER_EDIT,
    Action.PASSWORD_CHANGE,
    Action.USER_DELETE,
    Action.MESSAGE_DELIVER,
    Action.TOKEN_ISSUE,
)


@dataclass(frozen=True)
class Change:
    event: AuditEvent
    link: str | None


@dataclass(frozen=True)
class RecentImport:
    job: ImportJob
    state: JobState


@dataclass(frozen=True)
class Activity:
    changes: list[Change]
    imports: list[RecentImport]
    failed_sign_ins: list[AuditEvent]
    failed_sign_in_count: int


def recent_activity(operator: Operator) -> Activity:
    """The operator's view of recent activity: everything for admins, their
    own for others (the audit log's and the import pages' rules)."""
    events = visible_to(operator)
    changes = [
        Change(event, target_url(event)) for event in events.filter(action__in=CHANGES)[:SHOWN]
    ]
    failed = events.filter(
        action=Action.SIGN_IN,
        created_at__gte=timezone.now() - FAILED_SIGN_IN_WINDOW,
    ).exclude(outcome=OK)
    job_rows = jobs.visible_to(operator)
    return Activity(
        changes=changes,
        imports=[RecentImport(job, jobs.shown_state(job)) for job in job_rows[:SHOWN]],
        failed_sign_ins=list(failed[:SHOWN]),
        failed_sign_in_count=failed.count(),
    )
