"""Editing roles and params against one entity tag, and the conflict page.

pymap replaces the whole record on SetUser and hashes whatever password it is
given (none at all when omitted), so every edit says what to do with the
password: keep it (the operator types it; a Login checks it first), set a new
one, or remove it. The form carries the entity tag it was rendered from; if
the user changed meanwhile the operator gets a conflict page (409) with both
versions and a form that re-applies their changes on top of the current
values. Nothing is ever overwritten silently.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from adminpanel.accounts import everywhere, session
from adminpanel.accounts.middleware import get_operator
from adminpanel.audit.record import Action, record
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.service import ADMIN_ROLE

from .. import recent
from ..forms import (
    PARAMS_PREFIX,
    BaseParamFormSet,
    EditUserForm,
    ParamFormSet,
    PasswordAction,
    not_editable,
    params_initial,
    roles_initial,
    sign_base,
    unsign_base,
)
from ..links import user_url
from ..merge import UserValues, changed_fields, compare, keep_line_breaks, rebase
from ..models import LastAction
from .common import (
    add_failure,
    admin_only,
    audited,
    get_user_or_page,
    is_self,
    renew_own_token,
    server,
    with_target_name,
)
from .rows import MORE_ROWS, with_more_rows

PASSWORD_FIELDS = ("current_password", "new_password1", "new_password2")

NOT_ALLOWED_ROLES = (
    "The mail server refused: your identity may not assign roles. Only a session with "
    "the admin role can save a user's roles, even roles the user already has."
)
KEEP_REFUSED = (
    "This is not the user's current password (the mail server did not accept it), so "
    "nothing was saved. Enter the current password, or choose to set a new one."
)


def _values(record: service.UserRecord) -> UserValues:
    return UserValues.of(record.roles, record.params)


def _form_for(
    record: service.UserRecord,
    values: UserValues,
    *,
    is_self: bool,
    password_action: str | None = None,
) -> tuple[EditUserForm, BaseParamFormSet]:
    """An unbound form showing ``values`` against ``record``'s entity tag."""
    initial: dict[str, Any] = {
        **roles_initial(values.roles),
        "entity_tag": record.entity_tag,
        "base": sign_base(record.roles, record.params, record.has_password),
    }
    form = EditUserForm(initial=initial, has_password=record.has_password, is_self=is_self)
    if password_action is not None and form.offers(password_action):
        form.initial["password_action"] = password_action
    return form, ParamFormSet(initial=params_initial(values.params), prefix=PARAMS_PREFIX)


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
        {"name": name, "form": form, "formset": formset, "more_rows": MORE_ROWS},
        status=status,
    )


def _cannot_edit(request: HttpRequest, name: str, problems: list[str]) -> HttpResponse:
    """409: the stored record holds values a form would change on the way back."""
    return render(
        request, "users/cannot_edit.html", {"name": name, "problems": problems}, status=409
    )


def _record_conflict(request: HttpRequest, name: str, changed: list[str], outcome: str) -> None:
    """Audit an edit that found the user changed or gone (SetUser was not sent)."""
    record(request, Action.USER_EDIT, target=name, outcome=outcome, changed_fields=changed)


def _conflict(
    request: HttpRequest,
    name: str,
    form: EditUserForm,
    formset: BaseParamFormSet,
    base: UserValues,
    yours: UserValues,
    current: service.UserRecord | None = None,
) -> HttpResponse:
    """409: the user changed (or went) since the form was rendered. ``current``
    is the user as just read (and found editable); without it, read it again."""
    action = form.cleaned_data["password_action"]
    operator = get_operator(request)
    if current is None:
        try:
            current = service.get_user(server(), operator.token, name)
        except Refused as exc:
            if exc.is_(RefusalKey.USER_NOT_FOUND):
                return _deleted(request, name, yours, action)
            return _render(request, name, form, formset, status=_reread_failed(form, exc))
        except PymapError as exc:
            return _render(request, name, form, formset, status=_reread_failed(form, exc))
        if problems := not_editable(current.roles, current.params):
            return _cannot_edit(request, name, problems)
    current_values = _values(current)
    new_form, new_formset = _form_for(
        current,
        rebase(base, yours, current_values),
        is_self=is_self(operator, name),
        password_action=action,
    )
    return render(
        request,
        "users/conflict.html",
        {
            "name": name,
            "deleted": False,
            "rows": compare(base, yours, current_values),
            "current": current,
            "password_action": action,
            "form": new_form,
            "formset": new_formset,
            "more_rows": MORE_ROWS,
        },
        status=409,
    )


def _deleted(request: HttpRequest, name: str, yours: UserValues, action: str) -> HttpResponse:
    """409: the user was deleted since the form was rendered."""
    return render(
        request,
        "users/conflict.html",
        {"name": name, "deleted": True, "yours": yours, "password_action": action},
        status=409,
    )


def _reread_failed(form: EditUserForm, exc: PymapError) -> int:
    """The conflict page could not read the current values: keep the operator's form."""
    if isinstance(exc, Refused) and (
        exc.is_(RefusalKey.INVALID_AUTH) or exc.is_(RefusalKey.AUTHORIZATION_FAILURE)
    ):
        raise exc
    form.add_error(
        None,
        "Someone changed this user after you opened the form, so nothing was saved, and "
        f"reading the current values failed: {exc.message} Open the edit page again.",
    )
    return exc.http_status


def _password_is_current(name: str, password: str) -> bool:
    """A Login with the typed password, so that "keep" cannot store a typo."""
    try:
        service.login(server(), name, password=password)
    except Refused as exc:
        if exc.is_(RefusalKey.INVALID_AUTH) or exc.is_(RefusalKey.USER_NOT_FOUND):
            return False
        raise
    return True


@require_http_methods(["GET", "POST"])
@admin_only("Changing roles and parameters")
@sensitive_post_parameters(*PASSWORD_FIELDS)
@with_target_name
def edit(request: HttpRequest, name: str) -> HttpResponse:
    operator = get_operator(request)
    editing_self = is_self(operator, name)
    if request.method == "GET":
        found = get_user_or_page(request, name)
        if isinstance(found, HttpResponse):
            return found
        if problems := not_editable(found.roles, found.params):
            return _cannot_edit(request, name, problems)
        form, formset = _form_for(found, _values(found), is_self=editing_self)
        return _render(request, name, form, formset)

    base_data = unsign_base(request.POST.get("base", ""))
    has_password = bool(base_data["has_password"]) if base_data else True
    if MORE_ROWS in request.POST:
        initial, formset = with_more_rows(request.POST, exclude=PASSWORD_FIELDS)
        form = EditUserForm(initial=initial, has_password=has_password, is_self=editing_self)
        return _render(request, name, form, formset)

    form = EditUserForm(request.POST, has_password=has_password, is_self=editing_self)
    formset = ParamFormSet(request.POST, prefix=PARAMS_PREFIX)
    if not (form.is_valid() and formset.is_valid()):
        return _render(request, name, form, formset, status=400)
    return _save(request, name, form, formset)


def _save(
    request: HttpRequest, name: str, form: EditUserForm, formset: BaseParamFormSet
) -> HttpResponse:
    operator = get_operator(request)
    data = form.cleaned_data
    base = UserValues.of(data["base"]["roles"], data["base"]["params"])
    yours = keep_line_breaks(base, UserValues.of(form.roles(), formset.params()))
    action: str = data["password_action"]
    password: str | None = data["password"]
    tag: int = data["entity_tag"]

    # Read the user again: the changes are computed against what is stored,
    # and a stale tag is a conflict before any password is checked.
    try:
        current = service.get_user(server(), operator.token, name)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            _record_conflict(request, name, changed_fields(base, yours), exc.key)
            return _deleted(request, name, yours, action)
        return _render(request, name, form, formset, status=add_failure(form, exc))
    except PymapError as exc:
        return _render(request, name, form, formset, status=add_failure(form, exc))
    if problems := not_editable(current.roles, current.params):
        return _cannot_edit(request, name, problems)
    if current.entity_tag != tag:
        # SetUser would answer CannotReplaceUser; do not even try.
        _record_conflict(request, name, changed_fields(base, yours), RefusalKey.CANNOT_REPLACE_USER)
        return _conflict(request, name, form, formset, base, yours, current)

    changed = changed_fields(_values(current), yours)
    if action == PasswordAction.NEW or (action == PasswordAction.REMOVE and current.has_password):
        changed.append("password")
    if not changed:
        messages.info(request, f"Nothing to save: {name} already has these roles and parameters.")
        return HttpResponseRedirect(user_url("users:detail", name))

    try:
        wrong_password = action == PasswordAction.KEEP and not _password_is_current(
            name, password or ""
        )
    except PymapError as exc:
        return _render(request, name, form, formset, status=add_failure(form, exc))
    if wrong_password:
        record(
            request,
            Action.USER_EDIT,
            target=name,
            outcome=RefusalKey.INVALID_AUTH,
            changed_fields=changed,
            detail="current password not accepted",
        )
        form.add_error("current_password", KEEP_REFUSED)
        return _render(request, name, form, formset, status=400)

    try:
        with audited(request, Action.USER_EDIT, name, changed):
            service.set_user(
                server(),
                operator.token,
                name,
                password=password,
                roles=yours.roles,
                params=yours.params,
                previous_entity_tag=tag,
            )
    except Refused as exc:
        if exc.is_(RefusalKey.CANNOT_REPLACE_USER):
            # Changed between the re-read and SetUser; audited() recorded it.
            return _conflict(request, name, form, formset, base, yours)
        if exc.is_(RefusalKey.NOT_ALLOWED):
            form.add_error(None, NOT_ALLOWED_ROLES)
            return _render(request, name, form, formset, status=403)
        return _render(request, name, form, formset, status=add_failure(form, exc))
    except PymapError as exc:
        return _render(request, name, form, formset, status=add_failure(form, exc))

    recent.note(name, LastAction.EDITED)
    ended = everywhere.end_after_password_change(request, name) if "password" in changed else ""
    if is_self(operator, name) and password is not None:
        signed_out = renew_own_token(
            request, operator, password, is_admin=ADMIN_ROLE in yours.roles
        )
        if signed_out is not None:
            return signed_out
    elif is_self(operator, name):
        # No password to sign in with again; keep the header's role badge true.
        request.operator = session.replace_token(  # type: ignore[attr-defined]
            request, operator, operator.token, is_admin=ADMIN_ROLE in yours.roles
        )
    messages.success(request, f"Saved {name}: changed {', '.join(changed)}.{ended}")
    return HttpResponseRedirect(user_url("users:detail", name))
