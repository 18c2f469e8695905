"""Recording and listing the users this panel recently touched (bounded)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from adminpanel.accounts.session import Operator

from .models import LastAction, RecentUser

#: How many names the list keeps; older ones are dropped on the next write.
LIMIT = 50


def note(name: str, action: LastAction) -> None:
    """Remember that ``name`` was just viewed or changed, and keep the list bounded."""
    with transaction.atomic():
        RecentUser.objects.update_or_create(
            name=name, defaults={"last_action": action, "last_seen": timezone.now()}
        )
        stale = list(RecentUser.objects.values_list("pk", flat=True)[LIMIT:])
        if stale:
            RecentUser.objects.filter(pk__in=stale).delete()


def visible_to(operator: Operator) -> QuerySet[RecentUser]:
    """Operators with the admin role see the whole list; others only themselves."""
    if operator.is_admin:
        return RecentUser.objects.all()
    return RecentUser.objects.filter(name=operator.name or "")
