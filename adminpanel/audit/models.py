"""The audit log: one row per operator action, never edited or deleted."""

from __future__ import annotations

from typing import Any

from django.db import models

from adminpanel.accounts.acted_by import ActedBy


class Action(models.TextChoices):
    SIGN_IN = "sign-in", "Sign-in"
    SIGN_OUT = "sign-out", "Sign-out"
    SESSIONS_END = "sessions-end", "End sessions"
    USER_CREATE = "user-create", "Create user"
    USER_EDIT = "user-edit", "Edit user"
    PASSWORD_CHANGE = "password-change", "Change password"
    USER_DELETE = "user-delete", "Delete user"
    MESSAGE_DELIVER = "message-deliver", "Deliver message"
    MAILBOX_IMPORT = "mailbox-import", "Import messages"
    BULK_APPLY = "bulk-apply", "Apply bulk plan"
    TOKEN_ISSUE = "token-issue", "Issue token"
    FACTOR_ADD = "factor-add", "Add second factor"
    FACTOR_REMOVE = "factor-remove", "Remove second factor"
    RECOVERY_CODES_NEW = "recovery-codes-new", "New recovery codes"
    RECOVERY_CODE_USE = "recovery-code-use", "Use recovery code"
    SECOND_FACTOR_FAIL = "second-factor-fail", "Second factor refused"
    BULK_PASSWORDS = "bulk-passwords", "Download generated passwords"
    MAIL_ACCESS_OPEN = "mail-access-open", "Open mail access"
    MAILBOX_CREATE = "mailbox-create", "Create mailbox"
    MAILBOX_RENAME = "mailbox-rename", "Rename mailbox"
    MAILBOX_DELETE = "mailbox-delete", "Delete mailbox"
    MESSAGE_OPEN = "mailbox-message-open", "Open message"
    FILTER_SAVE = "filter-save", "Save filter script"
    FILTER_ACTIVATE = "filter-activate", "Activate filter script"
    FILTER_DELETE = "filter-delete", "Delete filter script"


#: The outcome of a successful action; failures store the result key or error.
OK = "ok"
#: A sign-in refused by the panel's throttle, before pymap was asked.
THROTTLED = "Throttled"


class ImmutableRecord(Exception):
    """Audit records are append-only."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk changes are refused like single ones."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableRecord("audit records cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord("audit records cannot be deleted")


class AuditEvent(ActedBy):
    """Who did what to whom, from where, against which server, and how it ended.

    Who acted is kept twice: ``identity_kind``, ``identity_name`` and
    ``identity_act_as`` are the :class:`~adminpanel.accounts.identity.Identity`
    that rules compare; ``operator`` is its label, for the page, its filter
    and exports. ``changed_fields`` names what an edit changed; values are
    not stored, and passwords, tokens and hashes never are.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: ActedBy's, indexed here: the audit page filters by it.
    operator = models.CharField(max_length=600, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    target = models.CharField(max_length=300, blank=True, db_index=True)
    outcome = models.CharField(max_length=100, db_index=True)
    changed_fields = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    #: The request's id (X-Request-ID, or the one the panel made), to find its
    #: log lines; empty for events a task worker writes.
    request_id = models.CharField(max_length=128, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["operator", "-created_at"]),
            models.Index(
                fields=["identity_kind", "identity_name", "identity_act_as"],
                name="audit_identity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.operator} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableRecord("audit records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord("audit records cannot be deleted")
