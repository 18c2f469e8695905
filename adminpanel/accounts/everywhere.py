"""Ending every panel session of one user on one server.

Each session is indexed by who signed in (:class:`~.models.OperatorSession`,
written at sign-in). Ending a session deletes its stored row, so its cookie
is useless at once, on every panel instance. A user's sessions are those in
which that user authenticated (with a password or one of its login tokens,
acting as itself or as someone else); sessions of others acting as that user
are theirs, not its.

pymap keeps a user's old login tokens valid after a password change on dict
and maildir, so a changed password alone would leave every session that
holds one running: a change made through the panel ends them here. A change
made elsewhere (the CLI) cannot be seen by the panel; "sign out everywhere"
on the user's page is the way to end those sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.http import HttpRequest

from adminpanel.audit.record import Action, record

from .identity import IdentityKind
from .middleware import get_operator
from .models import OperatorSession
from .session import Operator


def register(request: HttpRequest, operator: Operator) -> None:
    """Index the request's (just created) session under its operator."""
    key = request.session.session_key
    if key is None:
        raise RuntimeError("the session has no key yet; call after cycle_key()")
    identity = operator.identity
    OperatorSession.objects.update_or_create(
        session_id=key,
        defaults={
            "server": operator.server,
            "identity_kind": identity.kind,
            "identity_name": identity.name[:300],
            "identity_act_as": identity.act_as[:300],
        },
    )


def may_end_sessions_of(operator: Operator, name: str) -> bool:
    """Operators may end their own sessions (the user they signed in as, or
    whose rights they carry); the admin role may end anyone's."""
    identity = operator.identity
    own = identity.kind == IdentityKind.USER and identity.name == name
    return operator.is_admin or own or operator.name == name


@dataclass(frozen=True)
class Ended:
    """How many sessions were ended, and whether the request's own was one."""

    count: int
    current: bool

    @property
    def sessions(self) -> str:
        return f"{self.count} panel session{'s' if self.count != 1 else ''}"

    def note(self, name: str) -> str:
        """For the result page of a password change: "" when none ended."""
        if not self.count:
            return ""
        were = "was" if self.count == 1 else "were"
        return f" {self.sessions} of {name} elsewhere {were} signed out."


def end_sessions(
    request: HttpRequest, server: str, name: str, *, keep_current: bool, why: str
) -> Ended:
    """End the panel sessions of user ``name`` on ``server``.

    ``keep_current`` spares the request's own session (after one's own
    password change); if it is ended, it is flushed, so that nothing of it is
    saved again. Audited, with ``why``, when any session was ended.
    """
    indexed = OperatorSession.objects.filter(
        server=server, identity_kind=IdentityKind.USER, identity_name=name
    )
    current = request.session.session_key
    if keep_current:
        indexed = indexed.exclude(session_id=current)
    keys = set(indexed.values_list("session_id", flat=True))
    count = Session.objects.filter(session_key__in=keys).delete()[1].get(Session._meta.label, 0)
    ended = Ended(count, current is not None and current in keys)
    if count:
        record(request, Action.SESSIONS_END, target=name, detail=f"{ended.sessions} ended: {why}")
    if ended.current:
        request.session.flush()
    return ended


def end_after_password_change(request: HttpRequest, name: str) -> str:
    """After the panel changed ``name``'s password: end that user's other
    sessions (the old password, or a token got with it, may be in other
    hands). What to add to the result page's message."""
    operator = get_operator(request)
    ended = end_sessions(
        request, operator.server, name, keep_current=True, why="password changed in the panel"
    )
    return ended.note(name)
