"""The writes of the mail pages: deliver one message, start an import.

Like ``users/actions.py``: each action makes the checks the server does not
make itself on this backend, does the write, records the audit event and
returns what happened. Views keep what belongs to the browser (the session's
stash, the form's errors) and map the outcome to a page. ``InvalidAuth`` is
audited and raised on, so that the error middleware (web/errors.py) ends the sign-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from django.core.files.uploadedfile import UploadedFile

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.session import Operator
from adminpanel.audit.record import OK, Action, record
from adminpanel.lib.refusal import Refusal
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.pymap import cli_commands, service
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import attenuate_until
from adminpanel.servers import issued_tokens, knowledge
from adminpanel.users import records

from . import jobs, outcomes, parsing
from .flags import SYSTEM_FLAGS
from .intake import JobSpec, UploadRefused, create_job
from .models import ImportJob
from .tasks import run_import

# --- deliver one message -------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One message to append, as the operator confirmed it."""

    user: str
    mailbox: str
    data: bytes
    sender: str | None
    recipient: str | None
    flags: list[str]
    when: int | None


@dataclass
class DeliveryResult:
    """What the result page says; kept in the session until it is shown."""

    status: Literal["delivered", "refused", "unknown", "discarded"]
    user: str
    mailbox: str
    size: int
    flags: list[str]
    key: str = ""
    reason: str = ""
    response: str = ""
    uid_validity: int | None = None
    uid: int | None = None
    flags_unconfirmed: list[str] = field(default_factory=list)
    backend: str = ""
    line_endings_rewritten: bool = False
    #: The ``pymap-admin append`` that does the same (``cli_commands.Command.as_dict``).
    command: dict[str, Any] | None = None

    @property
    def certainly_not_stored(self) -> bool:
        return self.status == "refused"

    def as_session(self) -> dict[str, Any]:
        return asdict(self)


def stored_flags(flags: Sequence[str], caps: Capabilities) -> tuple[list[str], list[str]]:
    """The flags the server keeps, and those it may have dropped.

    Append answers with no flags, so they cannot be read back: what the
    backend does with them decides. maildir keeps system flags, and keywords
    only where the mailbox's dovecot-keywords file lists them (the panel
    cannot read it), so those are reported as not confirmed.
    """
    if caps.keeps_keywords:
        return list(flags), []
    return (
        [flag for flag in flags if flag in SYSTEM_FLAGS],
        [flag for flag in flags if flag not in SYSTEM_FLAGS],
    )


def _append(acting: Acting, delivery: Delivery) -> DeliveryResult:
    caps = acting.caps
    result = DeliveryResult(
        "unknown", delivery.user, delivery.mailbox, len(delivery.data), delivery.flags
    )
    if not caps.append_refuses_unknown_user and not records.exists(
        acting.server, acting.operator, delivery.user
    ):
        # This backend (redis) would store it in a mailbox nobody owns.
        raise Refused(RefusalKey.USER_NOT_FOUND, "")
    outcome = service.append(
        acting.server,
        acting.operator.token,
        delivery.user,
        delivery.data,
        mailbox=delivery.mailbox,
        sender=delivery.sender,
        recipient=delivery.recipient,
        flags=delivery.flags,
        when=delivery.when,
    )
    if not outcome.delivered:
        result.status, result.reason = "discarded", outcomes.DISCARDED
        return result
    result.status = "delivered"
    result.mailbox = outcome.mailbox or delivery.mailbox
    result.uid_validity, result.uid = outcome.uid_validity, outcome.uid
    result.flags, result.flags_unconfirmed = stored_flags(delivery.flags, caps)
    result.backend = caps.label
    result.line_endings_rewritten = not caps.keeps_line_endings and b"\r" in delivery.data
    result.command = cli_commands.append(
        acting.server,
        delivery.user,
        mailbox=delivery.mailbox,
        sender=delivery.sender,
        recipient=delivery.recipient,
        flags=delivery.flags,
        when=delivery.when,
    ).as_dict()
    return result


def deliver(acting: Acting, delivery: Delivery) -> DeliveryResult:
    """Append the message, audit it, and say what the server kept."""
    user, mailbox = delivery.user, delivery.mailbox
    try:
        result = _append(acting, delivery)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH):
            record(acting, Action.MESSAGE_DELIVER, target=user, outcome=exc.outcome)
            raise
        result = DeliveryResult(
            "refused",
            user,
            mailbox,
            len(delivery.data),
            delivery.flags,
            key=exc.key,
            reason=outcomes.refusal_reason(exc.key, user=user, mailbox=mailbox),
            response=parsing.displayable(exc.response, 500),
        )
        audit_outcome = exc.outcome
    except PymapError as exc:
        audit_outcome = exc.outcome
        result = DeliveryResult(
            "unknown",
            user,
            mailbox,
            len(delivery.data),
            delivery.flags,
            key=audit_outcome,
            reason=exc.message,
        )
    else:
        audit_outcome = OK if result.status == "delivered" else result.status
    detail = f"mailbox={result.mailbox} size={result.size}"
    if result.uid is not None:
        detail += f" uid={result.uid} uidvalidity={result.uid_validity}"
    record(acting, Action.MESSAGE_DELIVER, target=user, outcome=audit_outcome, detail=detail)
    return result


# --- start an import -----------------------------------------------------------


class ImportNotStarted(Refusal):
    """The import was not created; ``message`` says why, for the form."""


@dataclass(frozen=True)
class ImportRequest:
    """What the import form asked for."""

    user: str
    mailbox: str
    flags: list[str]
    date_source: str
    archive_flags: bool


def job_token(server: PymapServer, operator: Operator, user: str) -> bytes:
    """A token for the worker: a login token for ``user`` alone (pymap issues
    it if the operator may act on ``user``), narrowed to the operator's
    session end, sealed. Login tokens also avoid the ~300 ms the admin token
    costs on every call. Where the server keeps every token it issues
    (maildir), the one the panel already holds for ``user`` is used again.

    dict issues such a token even for a user that does not exist (it then
    fails with InvalidAuth), and redis would deliver to a user that does not
    exist, so reading the user's record with it proves both the user and the
    token before anything is stored.
    """
    caps = knowledge.capabilities(server)
    reuse = operator.is_admin or operator.name == user
    for fresh in (False, True):
        issued = issued_tokens.for_user(
            server, caps, operator.token, user, reuse=reuse, fresh=fresh
        )
        token = attenuate_until(issued, operator.expires)
        try:
            service.get_user(server, token, user)
        except Refused as exc:
            if not exc.is_(RefusalKey.INVALID_AUTH):
                raise
            if fresh or not (reuse and caps.keeps_issued_tokens):
                raise Refused(RefusalKey.USER_NOT_FOUND, exc.response) from exc
            continue  # the kept token died with an earlier user of that name
        return seal(token, Purpose.IMPORT_JOB)
    raise AssertionError("unreachable")


def start_import(acting: Acting, wanted: ImportRequest, files: Sequence[UploadedFile]) -> ImportJob:
    """Create the job from the uploaded files and queue it for a worker."""
    target = f"{wanted.user}/{wanted.mailbox}"
    try:
        sealed = job_token(acting.server, acting.operator, wanted.user)
    except Refused as exc:
        record(acting, Action.MAILBOX_IMPORT, target=target, outcome=exc.outcome)
        if exc.is_(RefusalKey.INVALID_AUTH):
            raise
        reason = outcomes.refusal_reason(exc.key, user=wanted.user, mailbox=wanted.mailbox)
        raise ImportNotStarted(reason, status=exc.status) from exc
    spec = JobSpec(
        identity=acting.operator.identity,
        operator_name=acting.operator.name or "",
        client_address=acting.client_address,
        server=acting.server.name,
        user=wanted.user,
        mailbox=wanted.mailbox,
        flags=wanted.flags,
        date_source=wanted.date_source,
        sealed_token=sealed,
        archive_flags=wanted.archive_flags,
    )
    try:
        job = create_job(spec, list(files))
    except UploadRefused as exc:
        raise ImportNotStarted(exc.message, field="upload") from exc
    run_import.enqueue(job.pk)
    record(
        acting,
        Action.MAILBOX_IMPORT,
        target=target,
        detail=f"import {job.pk} queued: {job.source_name} ({job.upload_bytes} bytes)",
    )
    return job


def resume_import(acting: Acting, job: ImportJob, *, include_unknown: bool) -> bool:
    """Queue a stopped job again with a fresh token; False if it changed meanwhile."""
    what = "retry of unknown outcomes" if include_unknown else "resume"
    try:
        sealed = job_token(acting.server, acting.operator, job.user)
    except Refused as exc:
        record(acting, Action.MAILBOX_IMPORT, target=job.target, outcome=exc.outcome)
        if exc.is_(RefusalKey.INVALID_AUTH):
            raise
        reason = outcomes.refusal_reason(exc.key, user=job.user, mailbox="")
        raise ImportNotStarted(reason, status=exc.status) from exc
    if not jobs.requeue(job, sealed, include_unknown=include_unknown):
        return False
    run_import.enqueue(job.pk)
    record(acting, Action.MAILBOX_IMPORT, target=job.target, detail=f"import {job.pk} {what}")
    return True


def cancel_import(acting: Acting, job: ImportJob) -> bool:
    """Cancel at once if no worker runs the job (True), else ask its worker."""
    stopped = jobs.cancel(job)
    what = "cancelled" if stopped else "cancel requested"
    record(acting, Action.MAILBOX_IMPORT, target=job.target, detail=f"import {job.pk} {what}")
    return stopped


def discard_upload(acting: Acting, job: ImportJob) -> bool:
    """Delete a stopped job's uploaded file; False if it changed meanwhile."""
    if not jobs.discard_upload(job):
        return False
    record(
        acting, Action.MAILBOX_IMPORT, target=job.target, detail=f"import {job.pk} upload discarded"
    )
    return True
