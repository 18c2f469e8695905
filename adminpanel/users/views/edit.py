"""Editing roles and params, and the conflict page.

The form carries the version of the record it was made from (entity tag and
signed values); users.actions.edit_user refuses to save over a newer version,
and the operator then gets a conflict page (409) with both versions and a form
that re-applies their changes on top of the current values. Nothing is ever
overwritten silently.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator
from adminpanel.accounts.throttle import SignInThrottled
from adminpanel.lib.refusal import add_to_form, with_refusal
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.results import UserRecord

from .. import actions, shown_command
from ..editable import PasswordAction, not_editable
from ..forms.edit import EditUserForm, sign_base, unsign_base
from ..forms.params import PARAMS_PREFIX, BaseParamFormSet, ParamFormSet, params_initial
from ..forms.roles import roles_initial
from ..links import user_url
from ..merge import UserValues, compare, keep_line_breaks, rebase
from ..wording import changed_in_words
from .common import (
    add_failure,
    admin_only,
    caps,
    is_self,
    keep_own_session,
    read_user,
    saved_message,
    show_password_once,
    with_target_name,
)
from .param_rows import MORE_ROWS, with_more_rows

PASSWORD_FIELDS = ("current_password", "new_password1", "new_password2")

NOT_ALLOWED_ROLES = (
    "The mail server refused: your identity may not assign roles. Only a session with "
    "the admin role can save a user's roles, even roles the user already has."
)


def _values(record: UserRecord) -> UserValues:
    return UserValues.of(record.roles, record.params)


def _form_for(
    record: UserRecord,
    values: UserValues,
    backend: Capabilities,
    *,
    is_self: bool,
    password_action: str | None = None,
) -> tuple[EditUserForm, BaseParamFormSet]:
    """An unbound form showing ``values`` against ``record``'s version."""
    initial: dict[str, Any] = {
        **roles_initial(values.roles),
        "entity_tag": record.entity_tag,
        "base": sign_base(
            record.roles, record.params, record.has_password, record.password_fingerprint
        ),
    }
    form = EditUserForm(
        initial=initial, has_password=record.has_password, is_self=is_self, caps=backend
    )
    if password_action is not None and form.offers(password_action):
        form.initial["password_action"] = password_action
    formset = ParamFormSet(
        initial=params_initial(values.params), prefix=PARAMS_PREFIX, caps=backend
    )
    return form, formset


def _render(
    request: HttpRequest,
    name: str,
    form: EditUserForm,
    formset: BaseParamFormSet,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "users/edit.html",
        {
            "name": name,
            "form": form,
            "formset": formset,
            "more_rows": MORE_ROWS,
            "caps": form.caps,
        },
        status=status,
    )


def _cannot_edit(request: HttpRequest, name: str, problems: list[str]) -> HttpResponse:
    """409: the stored record holds values a form would change on the way back."""
    return render(
        request, "users/cannot_edit.html", {"name": name, "problems": problems}, status=409
    )


def _conflict(
    request: HttpRequest, name: str, edit: actions.Edit, current: UserRecord
) -> HttpResponse:
    """409: the user changed since the form was made; re-apply the edit on top."""
    if problems := not_editable(current.roles, current.params):
        return _cannot_edit(request, name, problems)
    backend = caps(request)
    new_form, new_formset = _form_for(
        current,
        rebase(edit.base, edit.yours, _values(current)),
        backend,
        is_self=is_self(get_operator(request), name),
        password_action=edit.password_action,
    )
    return render(
        request,
        "users/conflict.html",
        {
            "name": name,
            "deleted": False,
            "rows": compare(edit.base, edit.yours, _values(current)),
            "current": current,
            "password_action": edit.password_action,
            "form": new_form,
            "formset": new_formset,
            "more_rows": MORE_ROWS,
            "caps": backend,
        },
        status=409,
    )


def _deleted(request: HttpRequest, name: str, edit: actions.Edit) -> HttpResponse:
    """409: the user was deleted since the form was made."""
    return render(
        request,
        "users/conflict.html",
        {
            "name": name,
            "deleted": True,
            "yours": edit.yours,
            "password_action": edit.password_action,
        },
        status=409,
    )


@require_http_methods(["GET", "POST"])
@admin_only("Changing roles and parameters")
@sensitive_post_parameters(*PASSWORD_FIELDS)
@with_target_name
def edit(request: HttpRequest, name: str) -> HttpResponse:
    editing_self = is_self(get_operator(request), name)
    backend = caps(request)
    if request.method == "GET":
        found = read_user(request, name)
        if problems := not_editable(found.roles, found.params):
            return _cannot_edit(request, name, problems)
        form, formset = _form_for(found, _values(found), backend, is_self=editing_self)
        return _render(request, name, form, formset)

    base_data = unsign_base(request.POST.get("base", ""))
    has_password = bool(base_data["has_password"]) if base_data else True
    if MORE_ROWS in request.POST:
        initial, formset = with_more_rows(request.POST, exclude=PASSWORD_FIELDS, caps=backend)
        form = EditUserForm(
            initial=initial, has_password=has_password, is_self=editing_self, caps=backend
        )
        return _render(request, name, form, formset)

    form = EditUserForm(request.POST, has_password=has_password, is_self=editing_self, caps=backend)
    formset = ParamFormSet(request.POST, prefix=PARAMS_PREFIX, caps=backend)
    if not (form.is_valid() and formset.is_valid()):
        return _render(request, name, form, formset, status=400)
    base = form.cleaned_data["base"]
    if not form.confirm_mailbox_path_of(name, formset.params(), base["params"]):
        return _render(request, name, form, formset, status=400)
    return _save(request, name, form, formset)


def _edit_of(form: EditUserForm, formset: BaseParamFormSet) -> actions.Edit:
    data = form.cleaned_data
    base = UserValues.of(data["base"]["roles"], data["base"]["params"])
    return actions.Edit(
        base=base,
        entity_tag=data["entity_tag"],
        password_fingerprint=data["base"]["password_fingerprint"],
        yours=keep_line_breaks(base, UserValues.of(form.roles(), formset.params())),
        password_action=data["password_action"],
        password=data["password"],
    )


def _save(
    request: HttpRequest, name: str, form: EditUserForm, formset: BaseParamFormSet
) -> HttpResponse:
    edit = _edit_of(form, formset)
    try:
        saved = actions.edit_user(Acting.of(request), name, edit)
    except actions.DeletedMeanwhile:
        return _deleted(request, name, edit)
    except actions.ChangedMeanwhile as exc:
        return _conflict(request, name, edit, exc.current)
    except actions.ChangedButUnreadable as exc:
        add_to_form(form, exc)
        return with_refusal(_render(request, name, form, formset), exc)
    except actions.NotEditable as exc:
        return _cannot_edit(request, name, exc.problems)
    except actions.NothingToSave as exc:
        messages.info(request, f"{exc.message} ({name})")
        return HttpResponseRedirect(user_url("users:detail", name))
    except actions.WrongPassword as exc:
        form.add_error(
            "current_password", f"{exc.message} Enter the current password, or set a new one."
        )
        return with_refusal(_render(request, name, form, formset), exc)
    except SignInThrottled as exc:
        add_to_form(form, exc)
        return with_refusal(_render(request, name, form, formset), exc)
    except Refused as exc:
        if not exc.is_(RefusalKey.NOT_ALLOWED):
            return _render(request, name, form, formset, status=add_failure(form, exc))
        form.add_error(None, NOT_ALLOWED_ROLES)
        return _render(request, name, form, formset, status=403)
    except PymapError as exc:
        return _render(request, name, form, formset, status=add_failure(form, exc))
    return _after_save(request, name, edit, saved)


@sensitive_variables("edit")
def _after_save(
    request: HttpRequest, name: str, edit: actions.Edit, saved: actions.Saved
) -> HttpResponse:
    # The action ended the user's other sessions if the password changed, and
    # renewed one's own session after a write of one's own record.
    signed_out = keep_own_session(request, saved.own)
    if signed_out is not None:
        return signed_out
    shown_command.remember(request, user_url("users:detail", name), saved.command)
    ended = saved.ended.note(name)
    saved_message(
        request, saved, f"Saved {name}: changed {changed_in_words(saved.changed)}.{ended}"
    )
    if edit.password_action == PasswordAction.GENERATE and edit.password is not None:
        return show_password_once(request, name, edit.password)
    return HttpResponseRedirect(user_url("users:detail", name))
