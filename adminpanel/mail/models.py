"""Import jobs and their messages, as the task worker and the pages see them.

An import's messages are rows written before anything is sent. A worker
claims a few at a time (``PENDING`` -> ``SENDING``, committed before their
Appends go out) and records each outcome afterwards, so a worker that dies
mid-way leaves exactly the messages whose outcome is unknown in ``SENDING``.
"""

from __future__ import annotations

from django.db import models

from adminpanel.accounts.acted_by import ActedBy
from adminpanel.lib import leased_run


class JobState(models.TextChoices):
    """The states of a leased run (adminpanel/lib/leased_run.py)."""

    QUEUED = leased_run.QUEUED, "Waiting for a worker"
    RUNNING = leased_run.RUNNING, "Running"
    INTERRUPTED = leased_run.INTERRUPTED, "Interrupted"
    FAILED = leased_run.FAILED, "Stopped"
    CANCELLED = leased_run.CANCELLED, "Cancelled"
    FINISHED = leased_run.FINISHED, "Finished"


class SourceFormat(models.TextChoices):
    MBOX = "mbox", "mbox archive"
    EML = "eml", ".eml files"


class DateSource(models.TextChoices):
    HEADER = "header", "Each message's Date header (the import time when it has none)"
    NOW = "now", "The time of the import"


class MessageSource(models.TextChoices):
    """Where the deliver form's message comes from."""

    COMPOSE = "compose", "Write it here (From, To, Subject and text)"
    RAW = "raw", "Paste the whole message (headers, an empty line, the body)"
    FILE = "file", "Upload an .eml file"
    #: The file of the message being edited, kept on the panel's disk.
    KEPT = "kept", "The file uploaded before"


class MessageState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Being sent"
    DELIVERED = "delivered", "Delivered"
    DISCARDED = "discarded", "Accepted, discarded by the user's filter"
    REFUSED = "refused", "Not delivered"
    UNKNOWN = "unknown", "Outcome unknown"
    CANCELLED = "cancelled", "Not sent (cancelled)"


#: States in which a message will not be sent again by itself.
DONE_STATES = (
    MessageState.DELIVERED,
    MessageState.DISCARDED,
    MessageState.REFUSED,
    MessageState.UNKNOWN,
    MessageState.CANCELLED,
)


class ImportJob(ActedBy, leased_run.LeasedRow):
    """One import: who started it (ActedBy: the audit events the worker writes
    carry that operator; a job is shown to its operator and to admins), what
    it imports, and its worker's run (LeasedRow, lib/leased_run.py)."""

    #: With whose rights ("" for the admin token).
    operator_name = models.CharField(max_length=300, blank=True)

    user = models.CharField(max_length=255)
    mailbox = models.CharField(max_length=1000)
    flags = models.JSONField(default=list, blank=True)
    #: Each message also keeps the flags its archive gives it (mbox Status and
    #: X-Status headers, Maildir file names).
    archive_flags = models.BooleanField(default=True)
    date_source = models.CharField(max_length=16, choices=DateSource.choices)

    source_format = models.CharField(max_length=8, choices=SourceFormat.choices)
    #: For display only ("archive.mbox.gz", "12 .eml files"); never a path.
    source_name = models.CharField(max_length=300)
    upload_bytes = models.BigIntegerField()
    #: Random name of the job's directory under the spool's imports/.
    spool_name = models.CharField(max_length=32, unique=True)
    upload_kept = models.BooleanField(default=True)

    state = models.CharField(
        max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    #: The archive has been split into message rows.
    split_done = models.BooleanField(default=False)
    total = models.IntegerField(null=True, blank=True)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    #: Bytes already delivered when the current run started (with
    #: run_start_done, the baseline of the delivery rate). The sealed token is
    #: a login token for ``user``.
    run_start_bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.target}"

    @property
    def target(self) -> str:
        """``user/mailbox``, as the audit log names what an import acts on."""
        return f"{self.user}/{self.mailbox}"


class ImportMessage(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="messages")
    #: Position in the upload, from 1.
    index = models.IntegerField()
    #: Where the message's bytes are in the job's file.
    offset = models.BigIntegerField()
    size = models.BigIntegerField()
    #: Internal date to send (epoch seconds); None means the time of sending.
    when = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    #: System flags the archive gives this message, sent besides the job's.
    flags = models.JSONField(default=list, blank=True)

    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.PENDING
    )
    #: The lease of the run that claimed it for sending.
    claim = models.CharField(max_length=32, blank=True)
    #: Sent again after its first outcome was unknown (the operator chose so).
    resent = models.BooleanField(default=False)
    mailbox = models.CharField(max_length=1000, blank=True)
    uid_validity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    reason_key = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="mail_message_job_index")
        ]
        indexes = [models.Index(fields=["job", "state", "index"], name="mail_message_job_state")]

    def __str__(self) -> str:
        return f"message {self.index} of import {self.job_id}"
