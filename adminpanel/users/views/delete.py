"""Deleting a user, and with it all of the user's mail, after a confirmation page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from adminpanel.accounts import session
from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused

from .. import actions, records, shown_command
from .common import admin_only, is_self, not_found, server, with_target_name


def _confirm(
    request: HttpRequest, name: str, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "users/delete.html",
        {"name": name, "error": error, "is_self": is_self(get_operator(request), name)},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_only("Deleting users")
@with_target_name
def delete(request: HttpRequest, name: str) -> HttpResponse:
    operator = get_operator(request)
    if request.method == "GET":
        if not records.exists(server(request), operator, name):
            return not_found(request, name)
        return _confirm(request, name)

    try:
        deleted = actions.delete_user(Acting.of(request), name)
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            messages.warning(
                request, f"There was no user named {name} any more: nothing to delete."
            )
            return HttpResponseRedirect(reverse("users:index"))
        if exc.is_(RefusalKey.INVALID_AUTH, RefusalKey.AUTHORIZATION_FAILURE):
            raise
        return _confirm(
            request, name, error=f"{exc.message} Nothing was deleted.", status=exc.status
        )
    except PymapError as exc:
        return _confirm(
            request,
            name,
            error=f"{exc.message} It is not known whether the user was deleted: open the "
            "user's page to check before trying again.",
            status=exc.status,
        )

    if deleted.own_sign_in_over:
        session.drop(request, operator.server)
        messages.info(request, f"You deleted your own user {name} and were signed out.")
        return HttpResponseRedirect(reverse("accounts:sign-in"))
    shown_command.remember(request, reverse("users:index"), deleted.command)
    messages.success(
        request,
        f"User {name} and all of its mail were deleted; the mail server no longer knows this name.",
    )
    return HttpResponseRedirect(reverse("users:index"))
