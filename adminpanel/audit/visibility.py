"""Which audit events an operator may read."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.accounts.session import Operator

from .models import AuditEvent


def recorded_as(identity: Identity) -> Q:
    """Events recorded under exactly this identity (kind, name and act-as)."""
    return Q(
        identity_kind=identity.kind,
        identity_name=identity.name,
        identity_act_as=identity.act_as,
    )


def visible_to(operator: Operator) -> QuerySet[AuditEvent]:
    """The events of the operator's server (its users and rights are its
    own): every one for an admin-role operator; otherwise the events recorded
    under the session's own identity, and those of the user whose rights it
    carries signed in as themselves.

    Identities are compared as structures, never as labels: a user named
    ``admin token`` sees nothing of the admin token's, and ``alice (signed in
    as bob)`` is bob acting as alice whatever the names contain.
    """
    events = AuditEvent.objects.filter(server=operator.server)
    if operator.is_admin:
        return events
    visible = recorded_as(operator.identity)
    if operator.name is not None:
        visible |= recorded_as(Identity(IdentityKind.USER, operator.name))
    return events.filter(visible)
