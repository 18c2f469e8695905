"""Changing a password: any user's with the admin role, otherwise one's own.

service.change_password reads the user (GetUser) and writes it back with the
new password and the same roles and params, against the entity tag it read.
pymap lets only the admin role assign roles, and SetUser always re-sends
them, so a user without the admin role whose record has roles cannot change
their own password: the page says so instead of failing silently.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from adminpanel.accounts import everywhere
from adminpanel.accounts.middleware import get_operator
from adminpanel.audit.record import Action
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused

from .. import recent
from ..forms import ChangePasswordForm
from ..links import user_url
from ..merge import sorted_roles
from ..models import LastAction
from .common import (
    add_failure,
    audited,
    get_user_or_page,
    is_self,
    not_found,
    renew_own_token,
    server,
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


def _render(
    request: HttpRequest,
    name: str,
    form: ChangePasswordForm,
    user: service.UserRecord | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    operator = get_operator(request)
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
            "roles_block_change": bool(user and user.roles and not operator.is_admin),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("new_password1", "new_password2")
@with_target_name
def change_password(request: HttpRequest, name: str) -> HttpResponse:
    operator = get_operator(request)
    if request.method == "GET":
        found = get_user_or_page(request, name)
        if isinstance(found, HttpResponse):
            return found
        return _render(request, name, ChangePasswordForm(), found)

    form = ChangePasswordForm(request.POST)
    if not form.is_valid():
        return _render(request, name, form, status=400)
    password: str = form.cleaned_data["password"]
    try:
        with audited(request, Action.PASSWORD_CHANGE, name, ["password"]):
            service.change_password(server(), operator.token, name, password)
    except Refused as exc:
        if exc.is_(RefusalKey.NOT_ALLOWED):
            form.add_error(None, NOT_ALLOWED)
            return _render(request, name, form, status=403)
        if exc.is_(RefusalKey.CANNOT_REPLACE_USER):
            form.add_error(None, CHANGED_MEANWHILE)
            return _render(request, name, form, status=409)
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            return not_found(request, name)
        return _render(request, name, form, status=add_failure(form, exc))
    except PymapError as exc:
        return _render(request, name, form, status=add_failure(form, exc))

    recent.note(name, LastAction.PASSWORD_CHANGED)
    ended = everywhere.end_after_password_change(request, name)
    if is_self(operator, name):
        signed_out = renew_own_token(request, operator, password)
        if signed_out is not None:
            return signed_out
        messages.success(request, f"Your password was changed. You stay signed in.{ended}")
    else:
        messages.success(request, f"The password of {name} was changed.{ended}")
    return HttpResponseRedirect(user_url("users:detail", name))
