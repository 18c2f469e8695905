"""Creating a user: SetUser with overwrite off, so an existing name is never replaced."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.middleware import get_operator
from adminpanel.audit.record import Action
from adminpanel.pymap import service
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused

from .. import recent
from ..forms import PARAMS_PREFIX, BaseParamFormSet, CreateUserForm, ParamFormSet
from ..links import user_url
from ..merge import UserValues, changed_fields
from ..models import LastAction
from .common import add_failure, admin_only, audited, not_authorized, server
from .rows import MORE_ROWS, with_more_rows

PASSWORD_FIELDS = ("password1", "password2")


def _render(
    request: HttpRequest,
    form: CreateUserForm,
    formset: BaseParamFormSet,
    *,
    status: int = 200,
    existing: str | None = None,
) -> HttpResponse:
    return render(
        request,
        "users/create.html",
        {"form": form, "formset": formset, "existing": existing, "more_rows": MORE_ROWS},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_only("Creating users")
@sensitive_post_parameters(*PASSWORD_FIELDS)
def create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # "?name=" comes from the unknown-user page's "create it" link.
        form = CreateUserForm(initial={"name": request.GET.get("name", "")})
        return _render(request, form, ParamFormSet(prefix=PARAMS_PREFIX))
    if MORE_ROWS in request.POST:
        initial, formset = with_more_rows(request.POST, exclude=PASSWORD_FIELDS)
        return _render(request, CreateUserForm(initial=initial), formset)

    form = CreateUserForm(request.POST)
    formset = ParamFormSet(request.POST, prefix=PARAMS_PREFIX)
    if not (form.is_valid() and formset.is_valid()):
        return _render(request, form, formset, status=400)

    name: str = form.cleaned_data["name"]
    password: str | None = form.cleaned_data["password"]
    roles = form.roles()
    params = formset.params()
    changed = (["password"] if password is not None else []) + changed_fields(
        UserValues(), UserValues.of(roles, params)
    )
    try:
        with audited(request, Action.USER_CREATE, name, changed):
            service.set_user(
                server(),
                get_operator(request).token,
                name,
                password=password,
                roles=roles,
                params=params,
                previous_entity_tag=None,  # overwrite off: never replace a user
            )
    except Refused as exc:
        if exc.is_(RefusalKey.CANNOT_REPLACE_USER):
            form.add_error("name", "A user with this name already exists. Nothing was changed.")
            return _render(request, form, formset, status=409, existing=name)
        if exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
            return not_authorized(request, name)
        return _render(request, form, formset, status=add_failure(form, exc))
    except PymapError as exc:
        return _render(request, form, formset, status=add_failure(form, exc))

    recent.note(name, LastAction.CREATED)
    if password is None:
        messages.success(request, f"User {name} was created without a password.")
    else:
        messages.success(request, f"User {name} was created.")
    return HttpResponseRedirect(user_url("users:detail", name))
