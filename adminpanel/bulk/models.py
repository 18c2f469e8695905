"""A bulk plan (one uploaded CSV) and its rows, as the pages and the worker see them.

The plan is made from reads only (GetUser per row) and kept here with what each
row will do and the version of the user it was planned against. Making it is
a task too (``reading.py``): the upload stores every row the panel could
check without the server as ``UNREAD`` (or refused) and a worker reads the
users, classifying each row, under the same lease as an apply. Applying it
is a task on the same framework as mailbox imports: a run holds a lease,
claims a few PENDING rows at a time (``APPLYING``, committed before any write
goes out) and records each outcome; a run that dies leaves exactly the rows
whose outcome is unknown in ``APPLYING``, and a resume never sends those again.
"""

from __future__ import annotations

from django.db import models

from adminpanel.accounts.acted_by import ActedBy
from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.lib import leased_run


class PlanState(models.TextChoices):
    """Planned, then the states of a leased run (adminpanel/lib/leased_run.py)."""

    PLANNED = "planned", "Planned, not applied"
    #: Shown, never stored: a plan whose users are being read (or wait for a
    #: worker to read them) is QUEUED or RUNNING with ``reading`` set.
    READING = "reading", "Reading the users"
    QUEUED = leased_run.QUEUED, "Waiting for a worker"
    RUNNING = leased_run.RUNNING, "Applying"
    INTERRUPTED = leased_run.INTERRUPTED, "Interrupted"
    FAILED = leased_run.FAILED, "Stopped"
    CANCELLED = leased_run.CANCELLED, "Cancelled"
    FINISHED = leased_run.FINISHED, "Finished"


class Kind(models.TextChoices):
    """What the plan says a row does."""

    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    UNCHANGED = "unchanged", "Unchanged"
    DELETE = "delete", "Delete"
    REFUSED = "refused", "Refused"
    #: Not classified yet: the worker has still to read the user.
    UNREAD = "unread", "Not read yet"


#: The kinds a finished plan shows (a row is never UNREAD once it is planned).
PLANNED_KINDS = [(kind.value, kind.label) for kind in Kind if kind != Kind.UNREAD]


#: Kinds that write when the plan is applied.
WRITING_KINDS = (Kind.CREATE, Kind.UPDATE, Kind.DELETE)


class RowState(models.TextChoices):
    #: Nothing to apply (unchanged or refused in the plan).
    NOT_APPLIED = "not-applied", "Nothing to apply"
    PENDING = "pending", "Waiting"
    APPLYING = "applying", "Being applied"
    APPLIED = "applied", "Applied"
    CONFLICT = "conflict", "Conflict: changed since the plan, not written"
    FAILED = "failed", "Not applied (the server refused)"
    UNKNOWN = "unknown", "Outcome unknown"
    CANCELLED = "cancelled", "Not applied (cancelled)"


#: Row states a run will not touch again by itself.
FINAL_ROW_STATES = (
    RowState.APPLIED,
    RowState.CONFLICT,
    RowState.FAILED,
    RowState.UNKNOWN,
    RowState.CANCELLED,
)


class BulkPlan(ActedBy, leased_run.LeasedRow):
    """One plan: who made it (ActedBy), what it holds, and its worker's run
    (LeasedRow, lib/leased_run.py)."""

    #: Whose rights ("" for the admin token).
    operator_name = models.CharField(max_length=300, blank=True)
    #: The backend(s) the plan was made for ("maildir", "maildir or redis").
    backend_label = models.CharField(max_length=100)
    #: For display only; never a path.
    source_name = models.CharField(max_length=300)
    upload_bytes = models.BigIntegerField()
    #: Random name of the plan's directory under the spool's bulk/ (result file).
    spool_name = models.CharField(max_length=32, unique=True)

    state = models.CharField(
        max_length=16, choices=PlanState.choices, default=PlanState.PLANNED, db_index=True
    )
    #: The users are still to be read: the run queued, running or to resume
    #: makes the plan (reading.py) rather than applies it (tasks.py).
    reading = models.BooleanField(default=False)
    #: Whether the operator may act on others (from the session, for the worker).
    operator_is_admin = models.BooleanField(default=False)
    operator_admin_token = models.BooleanField(default=False)
    operator_signed_in_as = models.CharField(max_length=300, blank=True)
    operator_expires_at = models.FloatField(default=0.0)
    #: The generated passwords' file: until when it may be downloaded (None: none).
    result_expires_at = models.DateTimeField(null=True, blank=True)
    #: Who pressed Apply (kind "none" until then): the only identity that may
    #: download the generated passwords (views/plans.py). A resume by another
    #: operator does not change it.
    applied_by_kind = models.CharField(
        max_length=16, choices=IdentityKind.choices, default=IdentityKind.NONE
    )
    applied_by_name = models.CharField(max_length=300, blank=True)
    applied_by_act_as = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk plan {self.pk}"

    @property
    def applied_by(self) -> Identity:
        return Identity(
            IdentityKind(self.applied_by_kind), self.applied_by_name, self.applied_by_act_as
        )


class BulkRow(models.Model):
    plan = models.ForeignKey(BulkPlan, on_delete=models.CASCADE, related_name="rows")
    #: The CSV line the row starts on (the header is line 1).
    line = models.IntegerField()
    #: Cut to 300 characters for display when refused; exact otherwise.
    name = models.CharField(max_length=300)
    requested = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: Why refused, or what the plan noticed, in words.
    reason = models.TextField(blank=True)
    #: What changes, in words ("roles: +staff", "params.quota", "password").
    changes = models.JSONField(default=list, blank=True)
    #: What to store; while UNREAD, the file's cells.
    roles = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    #: While UNREAD: whether the file has these columns (without one, an
    #: existing user keeps what is stored).
    has_roles = models.BooleanField(default=True)
    has_params = models.BooleanField(default=True)
    #: The password to send (from the CSV or generated), sealed; wiped once
    #: the row is final. While UNREAD, the file's password (if any), sealed.
    sealed_password = models.BinaryField(null=True, blank=True, editable=False)
    password_generated = models.BooleanField(default=False)
    #: Put in the result file already (generated passwords only).
    password_exported = models.BooleanField(default=False)
    #: The version the row was planned against (existing users). The entity
    #: tag is an unsigned 64-bit number, more than SQLite's INTEGER holds.
    base_tag = models.CharField(max_length=24, blank=True)
    base_roles = models.JSONField(default=list, blank=True)
    base_params = models.JSONField(default=dict, blank=True)
    base_fingerprint = models.CharField(max_length=100, blank=True)

    state = models.CharField(max_length=16, choices=RowState.choices)
    claim = models.CharField(max_length=32, blank=True)
    outcome_key = models.CharField(max_length=100, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["plan", "line"]
        indexes = [models.Index(fields=["plan", "state", "line"], name="bulk_row_plan_state")]

    def __str__(self) -> str:
        return f"line {self.line} of bulk plan {self.plan_id}"
