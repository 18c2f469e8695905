"""Loads the signed-in operator and enforces sign-in and session limits.

Every view needs a signed-in operator unless it is marked with
:func:`public_view`, so a new view is protected by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from adminpanel.lib.return_to import form_page
from adminpanel.servers import current

from . import rights_check, session
from .session import Operator, from_stored, stored_operators

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])


def public_view(view: ViewT) -> ViewT:
    """Mark a view as reachable without signing in."""
    view.panel_public = True  # type: ignore[attr-defined]
    return view


def passive_view(view: ViewT) -> ViewT:
    """Mark a view that pages' scripts poll by themselves (health, import
    progress): it needs a session but is not the operator's activity, so an
    unattended tab still reaches the idle limit."""
    view.panel_passive = True  # type: ignore[attr-defined]
    return view


def others_data_view(view: ViewT) -> ViewT:
    """Mark a view that shows or changes other operators' data (the audit
    log, others' imports, the recent-users list): pymap confirms the session's
    admin flag before it runs (see :mod:`adminpanel.accounts.rights_check`)."""
    view.panel_others_data = True  # type: ignore[attr-defined]
    return view


#: What a session whose token pymap refuses is told.
TOKEN_REFUSED = "The mail server no longer accepts your session. Please sign in again."  # noqa: S105


class OperatorRequest(HttpRequest):
    """A request as this middleware leaves it: the signed-in operator, or None
    on a public view without a session."""

    operator: Operator | None


def set_operator(request: HttpRequest, operator: Operator | None) -> None:
    """Make ``operator`` the request's, for the views and templates after this."""
    cast(OperatorRequest, request).operator = operator


def current_operator(request: HttpRequest) -> Operator | None:
    """The signed-in operator, or None (a public view, or before this middleware)."""
    return getattr(cast(OperatorRequest, request), "operator", None)


def get_operator(request: HttpRequest) -> Operator:
    """The signed-in operator; protected views can rely on there being one."""
    operator = current_operator(request)
    if operator is None:
        raise RuntimeError("get_operator() called on a public view without a session")
    return operator


def expiry_reason(operator: Operator, now: float) -> str | None:
    if now >= operator.expires_at:
        hours = settings.PANEL_SESSION_ABSOLUTE_SECONDS / 3600
        return f"Your session reached its {hours:g}-hour limit. Please sign in again."
    if now - operator.last_seen > settings.PANEL_SESSION_IDLE_SECONDS:
        minutes = settings.PANEL_SESSION_IDLE_SECONDS / 60
        return f"You were signed out after {minutes:g} minutes without activity."
    return None


def holds_current_operator(data: Mapping[str, object], now: float) -> bool:
    """Whether a stored session's data holds a signed-in operator (on any
    server) within the session limits (read without a request: see
    asgi_body_guard.py)."""
    for stored in stored_operators(data).values():
        operator = from_stored(stored)
        if operator is not None and expiry_reason(operator, now) is None:
            return True
    return False


class OperatorSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        server = current.for_request(request).name
        operator = session.load(request, server)
        if operator is not None:
            now = time.time()
            reason = expiry_reason(operator, now)
            if reason is not None:
                # drop() flushes the stored session with its last sign-in,
                # so the old cookie is useless even if someone kept a copy.
                session.drop(request, server)
                messages.info(request, reason)
                operator = None
        set_operator(request, operator)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        operator = current_operator(request)
        now = time.time()
        if operator is not None and not getattr(view_func, "panel_passive", False):
            operator = session.touch(request, operator, now)
        if getattr(view_func, "panel_public", False):
            return None
        if operator is None:
            return redirect_to_sign_in(request, unsaved=True)
        confirmed = rights_check.confirm(
            request, operator, now, others_data=getattr(view_func, "panel_others_data", False)
        )
        if confirmed is None:
            # The user was deleted or its tokens revoked: this sign-in is over.
            session.drop(request, operator.server)
            messages.warning(request, TOKEN_REFUSED)
            return redirect_to_sign_in(request)
        set_operator(request, confirmed)
        return None


#: What a form sent without a session is told, and why there is no session.
NOT_SAVED = "What you sent was not saved: sign in again to return to the form."
NO_COOKIE = (
    "You are not signed in: your browser sent no session cookie (it may have been removed "
    "or blocked). "
)


def redirect_to_sign_in(request: HttpRequest, *, unsaved: bool = False) -> HttpResponse:
    """To sign-in, and back here afterwards (``next``, a path of this site).

    A GET comes back to its own page. A POST cannot be replayed: it comes back
    to the page its form came from. ``unsaved``: the POST reached no view (no
    session), so the operator is told it was not saved, and why when the
    browser sent no session cookie at all.
    """
    url = reverse("accounts:sign-in")
    if request.method == "GET":
        return HttpResponseRedirect(url + "?" + urlencode({"next": request.get_full_path()}))
    if unsaved and request.path != reverse("accounts:keep-alive"):
        cookie_missing = settings.SESSION_COOKIE_NAME not in request.COOKIES
        messages.warning(request, (NO_COOKIE if cookie_missing else "") + NOT_SAVED)
    return HttpResponseRedirect(url + "?" + urlencode({"next": form_page(request)}))
