"""Changing a password: any user's with rights over them, otherwise one's own.

users.password_actions.change_password writes the new password with the user's own
roles and params as stored. pymap lets only the admin role assign roles, and
SetUser always re-sends them, so on most backends a user without the admin
role whose record has roles cannot change their own password: the page says
so before anyone types. Operators changing their own password give the
current one first, checked with a (throttled) sign-in.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator
from adminpanel.accounts.session import Operator
from adminpanel.accounts.throttle import SignInThrottled
from adminpanel.lib.refusal import add_to_form, with_refusal
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.results import UserRecord

from .. import actions, password_actions, shown_command
from ..links import user_url
from ..merge import sorted_roles
from ..password_forms import ChangePasswordForm
from .common import (
    add_failure,
    caps,
    is_self,
    keep_own_session,
    read_user,
    saved_message,
    show_password_once,
    with_target_name,
)

NOT_ALLOWED = (
    "The mail server refused: a password change re-sends the user's roles, and only an "
    "identity with the admin role may assign roles, even roles the user already has. "
    "This user has roles, so ask an operator with the admin role to change the password."
)
CHANGED_MEANWHILE = (
    "The user was changed by someone else while the password was being saved, so "
    "nothing was changed. Please submit again."
)
WRONG_CURRENT = "This is not your current password. Nothing was changed."


def _asks_current(operator: Operator, name: str) -> bool:
    """Own password, signed in as oneself: the current password is asked."""
    return is_self(operator, name) and operator.signed_in_as is None


def _render(
    request: HttpRequest,
    name: str,
    form: ChangePasswordForm,
    user: UserRecord | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    operator = get_operator(request)
    backend = caps(request)
    return render(
        request,
        "users/password.html",
        {
            "name": name,
            "form": form,
            "user": user,
            "roles": sorted_roles(user.roles) if user else (),
            "is_self": is_self(operator, name),
            # Foretell NotAllowedError: the server will refuse to re-send roles.
            "roles_block_change": bool(
                user and user.roles and not operator.is_admin and not backend.resends_own_roles
            ),
            "caps": backend,
        },
        status=status,
    )


def _refused(
    request: HttpRequest, name: str, form: ChangePasswordForm, exc: PymapError
) -> HttpResponse:
    """The form again with the refusal in words (UserNotFound: the 404 page)."""
    if isinstance(exc, Refused) and exc.is_(RefusalKey.USER_NOT_FOUND):
        raise exc
    if isinstance(exc, Refused) and exc.is_(RefusalKey.NOT_ALLOWED):
        form.add_error(None, NOT_ALLOWED)
        return _render(request, name, form, status=403)
    if isinstance(exc, Refused) and exc.is_(RefusalKey.CANNOT_REPLACE_USER):
        form.add_error(None, CHANGED_MEANWHILE)
        return _render(request, name, form, status=409)
    return _render(request, name, form, status=add_failure(form, exc))


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@sensitive_variables("new_password")
@with_target_name
def change_password(request: HttpRequest, name: str) -> HttpResponse:
    asks_current = _asks_current(get_operator(request), name)
    if request.method == "GET":
        found = read_user(request, name)
        return _render(request, name, ChangePasswordForm(asks_current=asks_current), found)
    form = ChangePasswordForm(request.POST, asks_current=asks_current)
    if not form.is_valid():
        return _render(request, name, form, status=400)
    new_password: str = form.cleaned_data["password"]
    current_password = form.cleaned_data["current_password"] if asks_current else None
    try:
        saved = password_actions.change_password(
            Acting.of(request), name, new_password, current_password=current_password
        )
    except actions.WrongPassword:
        form.add_error("current_password", WRONG_CURRENT)
        return _render(request, name, form, status=400)
    except SignInThrottled as exc:
        add_to_form(form, exc)  # on the current password's field, where the form has one
        return with_refusal(_render(request, name, form), exc)
    except PymapError as exc:
        return _refused(request, name, form, exc)
    return _after_change(request, name, saved, new_password, shown=form.generates)


@sensitive_variables("new_password")
def _after_change(
    request: HttpRequest, name: str, saved: actions.Saved, new_password: str, *, shown: bool
) -> HttpResponse:
    """The user page, or the page showing a generated password once (the
    action ended the user's other sessions and renewed one's own)."""
    signed_out = keep_own_session(request, saved.own)
    if signed_out is not None:
        return signed_out
    shown_command.remember(request, user_url("users:detail", name), saved.command)
    ended = saved.ended.note(name)
    if saved.own is not None:
        saved_message(request, saved, f"Your password was changed. You stay signed in.{ended}")
    else:
        saved_message(request, saved, f"The password of {name} was changed.{ended}")
    if shown:
        return show_password_once(request, name, new_password)
    return HttpResponseRedirect(user_url("users:detail", name))
