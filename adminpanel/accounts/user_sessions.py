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
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.http import HttpRequest

from adminpanel.audit.record import Action, record

from . import session
from .acting import Acting
from .identity import IdentityKind
from .models import OperatorSession
from .session import Operator, operator_key, stored_operators


def register(request: HttpRequest) -> None:
    """Index the request's (just re-keyed) session under each of its
    operators, one row per server: re-keying dropped the old rows."""
    key = request.session.session_key
    if key is None:
        raise RuntimeError("the session has no key yet; call after cycle_key()")
    for operator in session.load_all(request).values():
        _index(key, operator)


def _index(key: str, operator: Operator) -> None:
    identity = operator.identity
    OperatorSession.objects.update_or_create(
        session_id=key,
        server=operator.server,
        defaults={
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


#: No session was ended.
NONE_ENDED = Ended(0, False)


def end_sessions(acting: Acting, name: str, *, keep_own: bool, why: str) -> Ended:
    """End the sign-ins of user ``name`` to ``acting``'s server in every panel session.

    A session signed in to other servers too keeps those; one left with no
    sign-in is deleted. ``keep_own`` spares ``acting``'s own session (after
    one's own password change). That session is never changed here, as the
    request that holds it would write it back: when it is among those ended
    (``Ended.current``), the caller drops its sign-in to the server. Audited,
    with ``why``, when any was ended.
    """
    server = acting.server.name
    indexed = OperatorSession.objects.filter(
        server=server, identity_kind=IdentityKind.USER, identity_name=name
    )
    current = acting.session_key
    if keep_own:
        indexed = indexed.exclude(session_id=current)
    keys = set(indexed.values_list("session_id", flat=True))
    existing = set(Session.objects.filter(session_key__in=keys).values_list("pk", flat=True))
    for key in existing - {current}:
        _end_sign_in(key, server)
    indexed.delete()
    ended = Ended(len(existing), current is not None and current in existing)
    if ended.count:
        record(acting, Action.SESSIONS_END, target=name, detail=f"{ended.sessions} ended: {why}")
    return ended


def _end_sign_in(key: str, server: str) -> None:
    """Remove one server's sign-in from another (stored) session."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    store.pop(operator_key(server), None)
    if stored_operators(dict(store.items())):
        store.save()
    else:
        store.delete()


def end_after_password_change(acting: Acting, name: str) -> Ended:
    """After the panel changed ``name``'s password (a page or a bulk plan):
    end that user's other sessions (the old password, or a token got with
    it, may be in other hands). Called by the actions that write passwords."""
    return end_sessions(acting, name, keep_own=True, why="password changed in the panel")
