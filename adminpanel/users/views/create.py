"""Creating a user: never over an existing one (users.actions.create_user)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.acting import Acting
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused

from .. import actions, shown_command
from ..forms.create import CreateUserForm
from ..forms.params import PARAMS_PREFIX, BaseParamFormSet, ParamFormSet
from ..links import user_url
from ..merge import UserValues
from .common import add_failure, admin_only, caps, not_authorized, saved_message
from .param_rows import MORE_ROWS, with_more_rows

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
        {
            "form": form,
            "formset": formset,
            "existing": existing,
            "more_rows": MORE_ROWS,
            "caps": form.caps,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_only("Creating users")
@sensitive_post_parameters(*PASSWORD_FIELDS)
def create(request: HttpRequest) -> HttpResponse:
    backend = caps(request)
    if request.method == "GET":
        # "?name=" comes from the unknown-user page's "create it" link.
        form = CreateUserForm(initial={"name": request.GET.get("name", "")}, caps=backend)
        return _render(request, form, ParamFormSet(prefix=PARAMS_PREFIX, caps=backend))
    if MORE_ROWS in request.POST:
        initial, formset = with_more_rows(request.POST, exclude=PASSWORD_FIELDS, caps=backend)
        return _render(request, CreateUserForm(initial=initial, caps=backend), formset)

    form = CreateUserForm(request.POST, caps=backend)
    formset = ParamFormSet(request.POST, prefix=PARAMS_PREFIX, caps=backend)
    if not (form.is_valid() and formset.is_valid()):
        return _render(request, form, formset, status=400)
    name: str = form.cleaned_data["name"]
    if not form.confirm_mailbox_path_of(name, formset.params(), None):
        return _render(request, form, formset, status=400)
    try:
        saved = actions.create_user(
            Acting.of(request),
            name,
            password=form.cleaned_data["password"],
            wanted=UserValues.of(form.roles(), formset.params()),
        )
    except actions.AlreadyExists as exc:
        form.add_error("name", exc.message)
        return _render(request, form, formset, status=409, existing=name)
    except Refused as exc:
        if exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
            return not_authorized(request, name)
        return _render(request, form, formset, status=add_failure(form, exc))
    except PymapError as exc:
        return _render(request, form, formset, status=add_failure(form, exc))
    without = "" if form.cleaned_data["password"] is not None else " without a password"
    saved_message(request, saved, f"User {name} was created{without}.")
    shown_command.remember(request, user_url("users:detail", name), saved.command)
    return HttpResponseRedirect(user_url("users:detail", name))
