"""Sign-ins waiting for their second factor.

pymap has accepted the password or token; the operator (token included)
waits sealed in a :class:`~.models.PendingSignIn` row, and the browser's
session holds only the row's random key, one per server. Nothing is signed
in until :func:`complete`; a pending sign-in older than
``PANEL_SECOND_FACTOR_SECONDS`` is deleted with its sealed token.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, replace
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.session import Operator
from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

from .models import PendingSignIn, owned_by
from .policy import owner_of

SESSION_KEY = "twofactor:pending:"


def _session_key(server: str) -> str:
    return SESSION_KEY + server


def prune() -> None:
    PendingSignIn.objects.filter(expires_at__lte=timezone.now()).delete()


@sensitive_variables("operator")
def create(
    request: HttpRequest, operator: Operator, *, act_as: str, next_url: str, notice: str
) -> PendingSignIn:
    """Keep the sign-in sealed until its factor is given (replacing any
    earlier pending sign-in of this browser to the same server)."""
    prune()
    discard(request, operator.server)
    now = timezone.now()
    sealed = seal(json.dumps(asdict(operator)), Purpose.PENDING_SIGN_IN)
    pending = PendingSignIn.objects.create(
        key=secrets.token_urlsafe(32),
        **owned_by(operator.server, owner_of(operator)),
        sealed_operator=sealed,
        notice=notice[:1000],
        act_as=act_as[:300],
        next_url=next_url[:2000],
        created_at=now,
        expires_at=now + timedelta(seconds=settings.PANEL_SECOND_FACTOR_SECONDS),
    )
    request.session[_session_key(operator.server)] = pending.key
    return pending


class Expired(Exception):
    """The session named a pending sign-in that has expired (now deleted)."""


def load(request: HttpRequest, server: str) -> PendingSignIn | None:
    """The browser's pending sign-in to ``server``; None if there is none.
    Raises :class:`Expired` (after deleting it) if it waited too long."""
    key = request.session.get(_session_key(server))
    if not isinstance(key, str):
        return None
    pending = PendingSignIn.objects.filter(key=key, server=server).first()
    if pending is None:
        request.session.pop(_session_key(server), None)
        return None
    if pending.expires_at <= timezone.now():
        discard(request, server)
        raise Expired
    return pending


def discard(request: HttpRequest, server: str) -> None:
    key = request.session.pop(_session_key(server), None)
    if isinstance(key, str):
        PendingSignIn.objects.filter(key=key).delete()


@sensitive_variables("opened")
def take(request: HttpRequest, pending: PendingSignIn) -> Operator | None:
    """The operator the pending sign-in kept, and the row gone; None if it
    cannot be opened (SECRET_KEY changed) or another request took it first."""
    deleted, _ = PendingSignIn.objects.filter(key=pending.key).delete()
    request.session.pop(_session_key(pending.server), None)
    if not deleted:
        return None
    try:
        opened = json.loads(unseal(bytes(pending.sealed_operator), Purpose.PENDING_SIGN_IN))
        operator = Operator(**opened)
    except (UnsealError, ValueError, TypeError):
        return None
    return replace(operator, last_seen=timezone.now().timestamp())
