"""The writes of the user pages: create, edit and delete, and the steps every
user write shares (password_actions.py changes a password with them).

Each action does one write the way the server's backend needs it (the checks
the server does not make itself, the write, then a re-read of what was
stored), records the audit event, makes every side effect of the write (a
changed password ends the user's other panel sessions; a write of one's own
record renews the operator's session token; the ``pymap-admin`` command that
does the same), and returns one outcome (:class:`Saved`, :class:`Deleted`) or
raises one of the outcome exceptions below. Views validate, call one action
and map its outcome to a page (storing what it says in the browser's
session). pymap's own failures (``PymapError``) pass through, audited. The
bulk worker calls the same actions.

Per backend (adminpanel/pymap/backends.py): where SetUser does not refuse an
existing name, create asks first; where entity tags are not checked, an
edit compares the stored values with those its form was made from; records
are read with the user's own token where the caller's roles would be merged
in; and after every write the record is read again, so the page and the
audit say what the server kept, not what the panel sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts import password_check, user_sessions
from adminpanel.accounts.acting import Acting
from adminpanel.accounts.session import Operator
from adminpanel.audit.record import OK, Action, record
from adminpanel.lib.refusal import Refusal
from adminpanel.pymap import cli_commands, service
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.cli_commands import ShownCommand
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.results import UserRecord
from adminpanel.pymap.tokens import attenuate_until
from adminpanel.servers import issued_tokens

from . import recent, records
from .editable import PasswordAction, not_editable
from .merge import UserValues, Version, changed_fields, unchanged_since
from .models import LastAction

# --- the outcomes -------------------------------------------------


@dataclass(frozen=True)
class OwnSession:
    """What a write of operators' own record means for their panel session."""

    #: The session's operator renewed (a fresh token, the admin flag asked
    #: again), to store; None: it could not be renewed, the sign-in is over.
    operator: Operator | None


@dataclass(frozen=True)
class Saved:
    """A write the server took: the record as read back afterwards."""

    name: str
    #: The record as stored (None if reading it back failed; see ``differences``).
    stored: UserRecord | None
    #: What changed, as field names ("roles", "params.quota", "password").
    changed: tuple[str, ...]
    #: What the server did not keep as sent, in words (empty: all of it).
    differences: tuple[str, ...] = ()
    #: The user's other panel sessions ended because the password changed.
    ended: user_sessions.Ended = user_sessions.NONE_ENDED
    #: The ``pymap-admin`` command that makes the same write (none: unknown).
    command: ShownCommand | None = None
    #: Set when operators wrote their own record (see :class:`OwnSession`).
    own: OwnSession | None = None


@dataclass(frozen=True)
class Deleted:
    """A user the server deleted."""

    name: str
    command: ShownCommand
    #: Operators deleted their own user: pymap deleted its tokens, so their
    #: sign-in to this server is over.
    own_sign_in_over: bool


class ActionRefused(Refusal):
    """Base of the outcomes that are not a write (lib/refusal.py)."""


class AlreadyExists(ActionRefused):
    message = "A user with this name already exists. Nothing was changed."
    status = 409
    field = "name"


class DeletedMeanwhile(ActionRefused):
    message = "The user was deleted since the form was opened. Nothing was saved."
    status = 409


class ChangedMeanwhile(ActionRefused):
    """The user changed since the form was made; ``current`` is how it is now."""

    message = "Someone changed this user since the form was opened. Nothing was saved."
    status = 409

    def __init__(self, current: UserRecord) -> None:
        super().__init__()
        self.current = current


class ChangedButUnreadable(ActionRefused):
    """The user changed since the form was made, and reading it again failed."""

    def __init__(self, error: PymapError) -> None:
        super().__init__(
            "Someone changed this user after you opened the form, so nothing was saved, and "
            f"reading the current values failed: {error.message} Open the edit page again.",
            status=error.status,
        )
        self.error = error


class NotEditable(ActionRefused):
    """The stored record holds values a form would change on the way back."""

    status = 409

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NothingToSave(ActionRefused):
    message = "Nothing to save: the user already has these roles and parameters."


class WrongPassword(ActionRefused):
    message = (
        "This is not the user's current password (the mail server did not accept it), so "
        "nothing was saved."
    )
    field = "current_password"


# --- reading back what was stored ---------------------------------------------------


def _differences(
    sent: UserValues, password_sent: bool, stored: UserRecord, caps: Capabilities
) -> tuple[str, ...]:
    """What the server did not keep as sent, in words."""
    why = f" (this server runs {caps.label})"
    found: list[str] = []
    for role in sorted(set(sent.roles) - set(stored.roles)):
        found.append(f"the role {role!r} was not stored{why}")
    for role in sorted(set(stored.roles) - set(sent.roles)):
        found.append(f"the server added the role {role!r}{why}")
    for key, value in sorted(sent.params.items()):
        if key not in stored.params:
            found.append(f"the parameter {key!r} was not stored{why}")
        elif stored.params[key] != value:
            found.append(f"the parameter {key!r} was stored as {stored.params[key]!r}{why}")
    for key in sorted(stored.params.keys() - sent.params.keys()):
        found.append(f"the server added the parameter {key!r} = {stored.params[key]!r}{why}")
    if password_sent and not stored.has_password:
        found.append(f"no password was stored{why}")
    if not password_sent and stored.has_password:
        found.append(f"a password is stored although none was sent{why}")
    return tuple(found)


def read_back(
    acting: Acting,
    name: str,
    before: UserValues,
    sent: UserValues,
    *,
    password_sent: bool,
    password_changed: bool,
) -> Saved:
    """Read the record just written: what changed and what was not kept."""
    changed = ["password"] if password_changed else []
    try:
        stored = records.read(acting.server, acting.operator, name)
    except PymapError as exc:
        changed += changed_fields(before, sent)
        return Saved(
            name,
            None,
            tuple(changed),
            (f"the panel could not read the user back to check what was stored: {exc.message}",),
        )
    changed += changed_fields(before, UserValues.of(stored.roles, stored.params))
    differences = _differences(sent, password_sent, stored, acting.caps)
    return Saved(name, stored, tuple(changed), differences)


@contextmanager
def audited(acting: Acting, action: Action, name: str, fields: Iterable[str]) -> Iterator[None]:
    """Record a failure of the write (with its key) and re-raise it."""
    try:
        yield
    except PymapError as exc:
        record(acting, action, target=name, outcome=exc.outcome, changed_fields=fields)
        raise


def check_current_password(
    acting: Acting, action: Action, name: str, password: str, fields: Iterable[str]
) -> None:
    """Raise :class:`WrongPassword` (audited) unless pymap accepts ``password``
    for ``name``; ``throttle.SignInThrottled`` when too many were wrong."""
    if password_check.is_current(acting, name, password, field=WrongPassword.field):
        return
    record(
        acting,
        action,
        target=name,
        outcome=RefusalKey.INVALID_AUTH,
        changed_fields=fields,
        detail="current password not accepted",
    )
    raise WrongPassword


def _own_session(acting: Acting, name: str, password: str | None) -> OwnSession | None:
    """After operators wrote their own record: sign the session in again.

    Some backends (redis) give a user a new token key on every SetUser, which
    kills the session's token. A Login with the password just stored gives a
    fresh one, narrowed to the same session end, and the server is asked again
    what it may do (the operator's own roles may have changed). Without a
    password only the latter.
    """
    operator = acting.operator
    if operator.name is None or operator.name != name:
        return None
    if password is None:
        is_admin = service.may_act_on_others(acting.server, operator.token)
        return OwnSession(replace(operator, is_admin=is_admin))
    try:
        token = attenuate_until(
            service.login(acting.server, name, password=password), operator.expires
        )
        is_admin = service.may_act_on_others(acting.server, token)
    except PymapError:
        return OwnSession(None)
    return OwnSession(replace(operator, token=token, is_admin=is_admin))


@sensitive_variables("password")
def finish_saved(
    acting: Acting,
    action: Action,
    saved: Saved,
    command: ShownCommand | None,
    *,
    password: str | None,
) -> Saved:
    """The side effects of a write the server took, in one place: the audit
    record; a changed password ends the user's other panel sessions
    (accounts/user_sessions.py), whoever wrote it; a write of one's own record
    renews the session (with ``password``, the one now stored)."""
    record_saved(acting, action, saved)
    ended = user_sessions.NONE_ENDED
    if "password" in saved.changed:
        ended = user_sessions.end_after_password_change(acting, saved.name)
    own = _own_session(acting, saved.name, password)
    return replace(saved, ended=ended, command=command, own=own)


def record_saved(acting: Acting, action: Action, saved: Saved) -> None:
    detail = "; ".join(saved.differences)
    record(
        acting,
        action,
        target=saved.name,
        outcome=OK,
        changed_fields=saved.changed,
        detail=f"as stored: {detail}" if detail else "",
    )


# --- create ----------------------------------------------------------------------


@sensitive_variables("password")
def create_user(acting: Acting, name: str, *, password: str | None, wanted: UserValues) -> Saved:
    """SetUser with overwrite off; never replaces an existing user.

    Where the backend replaces users silently (maildir), the name is looked up
    first; a user created by someone else in the instant between cannot be
    detected there.
    """
    fields = (["password"] if password is not None else []) + changed_fields(UserValues(), wanted)
    with audited(acting, Action.USER_CREATE, name, fields):
        if not acting.caps.refuses_existing_on_create and records.exists(
            acting.server, acting.operator, name
        ):
            record(
                acting,
                Action.USER_CREATE,
                target=name,
                outcome=RefusalKey.CANNOT_REPLACE_USER,
                changed_fields=fields,
                detail="the name is taken (checked before writing)",
            )
            raise AlreadyExists
        try:
            service.set_user(
                acting.server,
                acting.operator.token,
                name,
                password=password,
                roles=wanted.roles,
                params=wanted.params,
                previous_entity_tag=None,
            )
        except Refused as exc:
            if exc.is_(RefusalKey.CANNOT_REPLACE_USER):
                record(
                    acting,
                    Action.USER_CREATE,
                    target=name,
                    outcome=exc.outcome,
                    changed_fields=fields,
                )
                raise AlreadyExists from exc
            raise
    saved = read_back(
        acting,
        name,
        UserValues(),
        wanted,
        password_sent=password is not None,
        password_changed=password is not None,
    )
    command = cli_commands.create_user(
        acting.server,
        acting.caps,
        name,
        password=password is not None,
        roles=wanted.roles,
        params=wanted.params,
    )
    saved = finish_saved(acting, Action.USER_CREATE, saved, command, password=password)
    recent.note(acting.server.name, name, LastAction.CREATED)
    return saved


# --- edit --------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """An edit as the form sent it: the version it was made from and the changes."""

    #: The values the form showed, its entity tag and the stored hash's fingerprint.
    base: UserValues
    entity_tag: int
    password_fingerprint: str
    #: The values to store.
    yours: UserValues
    password_action: str
    password: str | None = field(default=None, repr=False)

    @property
    def version(self) -> Version:
        return Version(self.entity_tag, self.base, self.password_fingerprint)


def _read_current(acting: Acting, name: str, edit: Edit, fields: list[str]) -> UserRecord:
    try:
        return records.read(acting.server, acting.operator, name)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            _record_conflict(acting, name, fields, exc.key)
            raise DeletedMeanwhile from exc
        raise


def _record_conflict(acting: Acting, name: str, fields: list[str], outcome: str) -> None:
    record(acting, Action.USER_EDIT, target=name, outcome=outcome, changed_fields=fields)


@sensitive_variables("edit")
def edit_user(acting: Acting, name: str, edit: Edit) -> Saved:
    """Store ``edit.yours`` and the password the edit asks for, unless the user
    changed since the form was made (:class:`ChangedMeanwhile`).

    Raises :class:`DeletedMeanwhile`, :class:`NotEditable`,
    :class:`NothingToSave`, :class:`WrongPassword` (the password to keep was
    not accepted), ``throttle.SignInThrottled`` (too many wrong ones) and
    pymap's errors (NotAllowedError: the identity may not assign roles).
    """
    caps = acting.caps
    fields = changed_fields(edit.base, edit.yours)
    current = _read_current(acting, name, edit, fields)
    if problems := not_editable(current.roles, current.params):
        raise NotEditable(problems)
    if not unchanged_since(edit.version, current, caps):
        _record_conflict(acting, name, fields, RefusalKey.CANNOT_REPLACE_USER)
        raise ChangedMeanwhile(current)
    fields = changed_fields(UserValues.of(current.roles, current.params), edit.yours)
    if edit.password_action in PasswordAction.SETS_NEW or (
        edit.password_action == PasswordAction.REMOVE and current.has_password
    ):
        fields.append("password")
    if not fields:
        raise NothingToSave
    with audited(acting, Action.USER_EDIT, name, fields):
        if edit.password_action == PasswordAction.KEEP:
            check_current_password(acting, Action.USER_EDIT, name, edit.password or "", fields)
        try:
            service.set_user(
                acting.server,
                acting.operator.token,
                name,
                password=edit.password,
                roles=edit.yours.roles,
                params=edit.yours.params,
                previous_entity_tag=current.entity_tag,
            )
        except Refused as exc:
            if not exc.is_(RefusalKey.CANNOT_REPLACE_USER):
                raise
            # Changed between the re-read and SetUser.
            _record_conflict(acting, name, fields, exc.key)
            try:
                now = _read_current(acting, name, edit, [])
            except PymapError as unreadable:
                if isinstance(unreadable, Refused) and (
                    unreadable.is_(RefusalKey.INVALID_AUTH)
                    or unreadable.is_(RefusalKey.AUTHORIZATION_FAILURE)
                ):
                    raise
                raise ChangedButUnreadable(unreadable) from exc
            raise ChangedMeanwhile(now) from exc
    saved = read_back(
        acting,
        name,
        UserValues.of(current.roles, current.params),
        edit.yours,
        password_sent=edit.password is not None,
        password_changed="password" in fields,
    )
    command = cli_commands.edit_user(
        acting.server,
        caps,
        name,
        password=edit.password is not None,
        roles=edit.yours.roles,
        params=edit.yours.params,
    )
    saved = finish_saved(acting, Action.USER_EDIT, saved, command, password=edit.password)
    recent.note(acting.server.name, name, LastAction.EDITED)
    return saved


# --- delete ------------------------------------------------------------------------


def delete_user(acting: Acting, name: str) -> Deleted:
    """DeleteUser; with the user go its mail and its login tokens."""
    with audited(acting, Action.USER_DELETE, name, []):
        service.delete_user(acting.server, acting.operator.token, name)
    record(acting, Action.USER_DELETE, target=name, outcome=OK)
    issued_tokens.forget(acting.server, name)
    recent.note(acting.server.name, name, LastAction.DELETED)
    own = acting.operator.name is not None and acting.operator.name == name
    return Deleted(name, cli_commands.delete_user(acting.server, name), own_sign_in_over=own)
