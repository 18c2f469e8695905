"""Where an audit event's target leads: the user's page, or the import's.

Every action names a user as its target except imports, whose target is
``user/mailbox`` (a user name may itself hold a ``/``, so it is not split);
their detail starts with ``import <number>``, written by the import pages and
the worker, which names the import. A bulk plan's events name no user; their
detail starts with ``plan <number>``.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.urls import reverse

from adminpanel.users.links import user_url

from .models import Action, AuditEvent

_IMPORT_NUMBER = re.compile(r"\Aimport (\d+)\b")
_PLAN_NUMBER = re.compile(r"\Aplan (\d+)\b")


def target_url(event: AuditEvent) -> str | None:
    if event.action == Action.MAILBOX_IMPORT:
        found = _IMPORT_NUMBER.match(event.detail)
        return reverse("mail:import-detail", args=[int(found[1])]) if found else None
    if event.action == Action.BULK_APPLY:
        found = _PLAN_NUMBER.match(event.detail)
        return reverse("bulk:detail", args=[int(found[1])]) if found else None
    return user_url("users:detail", event.target) if event.target else None


def history_url(name: str) -> str:
    """The audit page narrowed to one user: their events and imports into their mailboxes."""
    return f"{reverse('audit:list')}?{urlencode({'target': name, 'exact_target': 'on'})}"
