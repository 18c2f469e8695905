"""The one-time download of a plan's generated passwords, audited.

Only the identity that applied the plan may take the file (anyone else who
sees the plan is told that it exists and who may fetch it): otherwise any
admin could take it first and leave its author a 410. Every attempt is
audited: the download, one refused to another operator, one that came too
late.
"""

from __future__ import annotations

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.audit.record import Action, record
from adminpanel.lib.refusal import Refusal

from . import password_file
from .models import BulkPlan

#: Audit outcomes of a refused download.
NOT_THE_APPLIER = "NotTheApplier"
GONE = "Gone"


class NotTheApplier(Refusal):
    """Someone other than ``applied_by`` asked for the file (it stays)."""

    status = 403

    def __init__(self, applied_by: Identity) -> None:
        super().__init__(
            f"Only {applied_by.label}, who applied this plan, may download its generated "
            "passwords (once). The file is still there for them."
        )
        self.applied_by = applied_by


class PasswordsGone(Refusal):
    """The file was taken already, expired, or never written."""

    status = 410
    message = (
        "The generated passwords are no longer here: they can be downloaded once, within "
        "an hour of being made. Set a new password on each user's page."
    )


def may_take(acting_identity: Identity, plan: BulkPlan) -> bool:
    return acting_identity == plan.applied_by


def take_passwords(acting: Acting, plan: BulkPlan) -> bytes:
    """The file's bytes, once, for the operator who applied the plan."""
    target = f"bulk plan {plan.pk}"
    if plan.applied_by.kind == IdentityKind.NONE:  # never applied: no file to refuse
        record(acting, Action.BULK_PASSWORDS, target=target, outcome=GONE)
        raise PasswordsGone
    if not may_take(acting.operator.identity, plan):
        record(
            acting,
            Action.BULK_PASSWORDS,
            target=target,
            outcome=NOT_THE_APPLIER,
            detail=f"only {plan.applied_by.label} may download them",
        )
        raise NotTheApplier(plan.applied_by)
    data = password_file.take(plan)
    if data is None:
        record(acting, Action.BULK_PASSWORDS, target=target, outcome=GONE)
        raise PasswordsGone
    record(acting, Action.BULK_PASSWORDS, target=target)
    return data
