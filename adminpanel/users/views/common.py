"""What the user views share: the target name, rights checks, refusal pages,
reading records and renewing the operator's own session token."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts import session
from adminpanel.accounts.middleware import get_operator, set_operator
from adminpanel.accounts.session import Operator
from adminpanel.lib.pages import render_error
from adminpanel.lib.validators import validate_user_name
from adminpanel.pymap import service
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current, knowledge

from .. import actions, records

View = Callable[[HttpRequest], HttpResponse]
NameView = Callable[[HttpRequest, str], HttpResponse]


def server(request: HttpRequest) -> PymapServer:
    """The server this request acts on."""
    return current.for_request(request)


def is_self(operator: Operator, name: str) -> bool:
    """Whether ``name`` is the pymap user whose rights the session carries."""
    return operator.name is not None and operator.name == name


def with_target_name(view: NameView) -> View:
    """Pass the validated ``?name=`` to the view; a bad name never reaches pymap.

    The server refusing to let the operator act on that user
    (AuthorizationFailure, from any call the view makes) is a 403 page that
    names the user; UserNotFound that the view does not handle itself is the
    404 page with a "create it" link.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        name = request.GET.get("name", "")
        try:
            validate_user_name(name)
        except ValidationError as exc:
            return render_error(
                request,
                400,
                f"This address does not name a valid user. {exc.messages[0]}",
                title="Not a valid user name",
            )
        try:
            return view(request, name)
        except Refused as exc:
            if exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
                return not_authorized(request, name)
            if exc.is_(RefusalKey.USER_NOT_FOUND):
                return not_found(request, name)
            raise

    return wrapper


def admin_only(what: str) -> Callable[[View], View]:
    """Refuse with a 403 page, before any RPC, what only the admin role may do.

    The server would refuse most of it too (AuthorizationFailure); this keeps
    the panel from offering a non-admin anything but their own page and
    password, as the navigation does.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            operator = get_operator(request)
            if not operator.is_admin:
                return render_error(request, 403, f"{what} {_needs_rights(request, operator)}")
            return view(request)

        return wrapper

    return decorate


def _needs_rights(request: HttpRequest, operator: Operator) -> str:
    """Why this operator may not act on other users, in words."""
    capabilities = caps(request)
    if capabilities.only_admin_token_acts_on_others:
        return (
            f"needs the admin role, and this server ({capabilities.label}) gives rights over "
            "other users only to its admin token, even to users with the admin role. You are "
            f"signed in as {operator.label}, so you can view your own account and change your "
            "own password; sign in with the admin token for the rest."
        )
    return (
        f"needs the admin role. You are signed in as {operator.label} without it, so you can "
        "view your own account and change your own password."
    )


def not_authorized(request: HttpRequest, name: str) -> HttpResponse:
    """The server's AuthorizationFailure, in words."""
    operator = get_operator(request)
    capabilities = caps(request)
    why = "Without the admin role you may act only on your own account."
    if capabilities.only_admin_token_acts_on_others:
        why += (
            f" On this server ({capabilities.label}) only its admin token may act on other "
            "users, even users with the admin role."
        )
    return render_error(
        request,
        403,
        f"The mail server refused to let {operator.label} act on the user {name!r}. {why}",
    )


def not_found(request: HttpRequest, name: str) -> HttpResponse:
    return render(
        request,
        "users/not_found.html",
        {"name": name, "message": f"The mail server has no user named {name!r}."},
        status=404,
    )


def read_user(request: HttpRequest, name: str) -> service.UserRecord:
    """The user's own record (see records.read); UserNotFound and
    AuthorizationFailure become pages in :func:`with_target_name`."""
    return records.read(server(request), get_operator(request), name)


def caps(request: HttpRequest) -> Capabilities:
    """What the server's backend does (adminpanel/pymap/backends.py)."""
    return knowledge.capabilities(server(request))


def add_failure(form: forms.Form, exc: PymapError) -> int:
    """Show a failure of a write as a form error (keeping the input); its status.

    InvalidAuth means the session's token is no longer accepted; it goes on to
    the error middleware, which signs the operator out. AuthorizationFailure
    goes on to :func:`with_target_name`'s 403 page (or the middleware's).
    """
    if isinstance(exc, Refused):
        if exc.is_(RefusalKey.INVALID_AUTH, RefusalKey.AUTHORIZATION_FAILURE):
            raise exc
        form.add_error(None, f"{exc.message} Nothing was changed.")
    else:
        form.add_error(
            None,
            f"{exc.message} It is not known whether the change was made: check the "
            "user's page before trying again.",
        )
    return exc.status


def saved_message(request: HttpRequest, saved: actions.Saved, headline: str) -> None:
    """Say that the write was made, and what the server did not keep as sent."""
    if not saved.differences:
        messages.success(request, headline)
        return
    messages.warning(
        request,
        f"{headline} The server did not keep everything as sent: {'; '.join(saved.differences)}.",
    )


def keep_own_session(request: HttpRequest, own: actions.OwnSession | None) -> HttpResponse | None:
    """Keep in the session what a write of one's own record did to it
    (:class:`~..actions.OwnSession`): the renewed operator, or, when it could
    not be renewed, a sign-out with a message (the redirect to return)."""
    if own is None:
        return None
    if own.operator is None:
        session.drop(request, get_operator(request).server)
        messages.warning(
            request,
            "Your account was saved, but the panel could not renew your session. "
            "Please sign in again with the password you just set.",
        )
        return HttpResponseRedirect(reverse("accounts:sign-in"))
    session.store(request, own.operator)
    set_operator(request, own.operator)
    return None


@sensitive_variables("password")
def show_password_once(request: HttpRequest, name: str, password: str) -> HttpResponse:
    """The answer to the save itself: the password the panel generated, shown
    this once. The page is not stored (no-store on every page), the password is
    in no URL, log or audit row, and the panel keeps no copy."""
    return render(
        request,
        "users/password_shown.html",
        {"name": name, "password": password, "is_self": is_self(get_operator(request), name)},
    )
