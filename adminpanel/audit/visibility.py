"""Which audit events an operator may read."""

from __future__ import annotations

from django.db.models import QuerySet

from adminpanel.accounts.session import Operator

from .models import AuditEvent


def visible_to(operator: Operator) -> QuerySet[AuditEvent]:
    """Everything for an admin-role operator; otherwise only the events
    recorded under the operator's own identity.

    That identity is the user name, or the label of an "act as" session
    (``alice (signed in as bob)``); user names cannot contain spaces, so no
    user's name equals another identity's label.
    """
    events = AuditEvent.objects.all()
    if operator.is_admin:
        return events
    identities = {operator.label}
    if operator.name is not None:
        identities.add(operator.name)
    return events.filter(operator__in=identities)
