"""The write of the change-password page: a new password, nothing else.

Like every write in users/actions.py it audits the outcome and reads the
record back afterwards, so the page says what the server kept.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.acting import Acting
from adminpanel.audit.record import Action
from adminpanel.pymap import cli_commands, service

from . import recent, records
from .actions import Saved, audited, check_current_password, finish_saved, read_back
from .merge import UserValues
from .models import LastAction


@sensitive_variables("new_password", "current_password")
def change_password(
    acting: Acting, name: str, new_password: str, *, current_password: str | None = None
) -> Saved:
    """Store a new password with the user's own roles and params, as stored;
    with ``current_password``, only if pymap accepts it (else
    :class:`~.actions.WrongPassword`; ``throttle.SignInThrottled`` when too
    many were wrong). The user's other panel sessions end.

    The record is read so that the caller's roles are not merged in
    (records.read): writing merged roles back would make the user an admin on
    maildir. Raises pymap's errors: NotAllowedError (the identity may not
    re-send the user's roles), CannotReplaceUser (changed meanwhile),
    UserNotFound.
    """
    with audited(acting, Action.PASSWORD_CHANGE, name, ["password"]):
        if current_password is not None:
            check_current_password(
                acting, Action.PASSWORD_CHANGE, name, current_password, ["password"]
            )
        current = records.read(acting.server, acting.operator, name)
        values = UserValues.of(current.roles, current.params)
        service.set_user(
            acting.server,
            acting.operator.token,
            name,
            password=new_password,
            roles=values.roles,
            params=values.params,
            previous_entity_tag=current.entity_tag,
        )
    saved = read_back(acting, name, values, values, password_sent=True, password_changed=True)
    # The command re-sends the roles and params as read back; none if unread.
    command = (
        cli_commands.change_password(
            acting.server,
            acting.caps,
            name,
            roles=saved.stored.roles,
            params=saved.stored.params,
        )
        if saved.stored is not None
        else None
    )
    saved = finish_saved(acting, Action.PASSWORD_CHANGE, saved, command, password=new_password)
    recent.note(acting.server.name, name, LastAction.PASSWORD_CHANGED)
    return saved
