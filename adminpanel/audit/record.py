"""Writing audit events: ``record(acting, Action.USER_EDIT, ...)`` from actions,
:func:`record_attempt` for a sign-in attempt (no operator yet), and
:func:`record_event` where all is known already (task workers, sign-out)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.http import HttpRequest

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.identity import Identity
from adminpanel.lib import metrics, request_context
from adminpanel.lib.client_address import client_address
from adminpanel.servers import current

from .models import OK, THROTTLED, Action, AuditEvent

log = logging.getLogger(__name__)

__all__ = ["OK", "THROTTLED", "Action", "record", "record_attempt", "record_event"]


def record(
    acting: Acting,
    action: Action,
    *,
    target: str = "",
    outcome: str = OK,
    changed_fields: Iterable[str] = (),
    detail: str = "",
) -> AuditEvent:
    """Store one event of ``acting``'s operator, on ``acting``'s server."""
    return record_event(
        action,
        identity=acting.operator.identity,
        client_address=acting.client_address,
        server=acting.server.name,
        target=target,
        outcome=outcome,
        changed_fields=changed_fields,
        detail=detail,
    )


def record_attempt(
    request: HttpRequest,
    action: Action,
    *,
    identity: Identity,
    target: str = "",
    outcome: str = OK,
    detail: str = "",
) -> AuditEvent:
    """Store a sign-in step made before anyone is signed in: ``identity`` is
    the one that was tried."""
    return record_event(
        action,
        identity=identity,
        client_address=client_address(request),
        server=current.for_request(request).name,
        target=target,
        outcome=outcome,
        detail=detail,
    )


def record_event(
    action: Action,
    *,
    identity: Identity,
    client_address: str | None,
    server: str,
    target: str = "",
    outcome: str = OK,
    changed_fields: Iterable[str] = (),
    detail: str = "",
) -> AuditEvent:
    """Store one event, each field cut to its column's length."""
    event = AuditEvent.objects.create(
        operator=identity.label[:600],
        identity_kind=identity.kind,
        identity_name=identity.name[:300],
        identity_act_as=identity.act_as[:300],
        client_address=client_address,
        server=server[:200],
        action=action,
        target=target[:300],
        outcome=outcome[:100],
        changed_fields=sorted(changed_fields),
        detail=detail[:500],
        request_id=request_context.current_request_id(),
    )
    _count(action, outcome)
    # repr() keeps a line break in a claimed name from forging a log line.
    log.info("audit: %r %s target=%r outcome=%r", event.operator, action, target, outcome)
    return event


def _count(action: Action, outcome: str) -> None:
    """Sign-ins in the metrics, from the one place every attempt is recorded.

    A password or token that pymap accepted but whose second factor is still
    to come is not recorded yet: it counts once, when the second factor
    passes (or as second_factor_failed for each wrong one).
    """
    if action == Action.SIGN_IN:
        result = (
            "succeeded" if outcome == OK else "throttled" if outcome == THROTTLED else "refused"
        )
        metrics.SIGN_INS.labels(result).inc()
    elif action == Action.SECOND_FACTOR_FAIL:
        metrics.SIGN_INS.labels("second_factor_failed").inc()
