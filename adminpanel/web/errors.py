"""Error pages: every failure reaching a browser is a page, never a traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from adminpanel.accounts import session
from adminpanel.accounts.middleware import TOKEN_REFUSED, current_operator, redirect_to_sign_in
from adminpanel.lib.pages import render_error
from adminpanel.lib.refusal import Refusal, with_refusal
from adminpanel.lib.return_to import form_page
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.servers import current

log = logging.getLogger(__name__)

#: What a 503 for the panel's own database tells clients to wait.
DATABASE_RETRY_AFTER_SECONDS = 10


class PymapErrorMiddleware:
    """Maps the refusals that views let through to pages: the one place after
    the views where a :class:`~adminpanel.lib.refusal.Refusal` (pymap's
    errors among them) becomes a response.

    Views handle the refusals they expect (a form error for an existing name);
    whatever they do not handle lands here with a status that says what
    happened: 503 unreachable, 504 timeout, 403 not allowed, 502 otherwise,
    and the refusal's own headers. pymap no longer accepting the session's
    token (InvalidAuth) ends that sign-in: the sign-in page, with a message.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, Refusal):
            return None
        if isinstance(exc, Refused) and exc.is_(RefusalKey.INVALID_AUTH):
            # The session's token (its user was deleted, or the server
            # restarted with a new key): sign in again.
            session.drop(request, current.for_request(request).name)
            messages.warning(request, TOKEN_REFUSED)
            return redirect_to_sign_in(request)
        log.warning(
            "%s %s: %s (%s)",
            request.method,
            request.path,
            type(exc).__name__,
            getattr(exc, "key", "") or exc.message,
        )
        page = render_error(request, exc.status, _for_visitor(request, exc.message))
        return with_refusal(page, exc)


def _for_visitor(request: HttpRequest, message: str) -> str:
    """Before sign-in the server is named, never located: no socket path or
    host and port in a message (the sign-in page's 503, for one)."""
    if current_operator(request) is not None:
        return message
    server = current.for_request(request)
    return message.replace(f" at {server.address}", f" “{server.name}”").replace(
        server.address, f"“{server.name}”"
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 400, "The request could not be understood.", title="Bad request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 403, "You are not allowed to do this.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 404, "There is no page at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 when the panel's own database failed (down, or no pooled
    connection free in time).

    Rendered without the request's context: the session and the messages it
    would read live in that database, and may be what failed.
    """
    failure = sys.exc_info()[1]
    if isinstance(failure, DatabaseError):
        status, title = 503, "Panel database unavailable"
        message = (
            "The panel could not use its own database: it is down or too busy. "
            "Try again in a moment. If you were changing something, check whether "
            "the change was made before you repeat it."
        )
    else:
        status, title = 500, "Panel error"
        message = "Something went wrong in the panel. The error has been logged."
    page = render_to_string(
        "errors/error.html", {"status": status, "title": title, "message": message}
    )
    response = HttpResponse(page, status=status)
    if status == 503:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


#: Why Django refused a form (django.middleware.csrf.REASON_NO_CSRF_COOKIE):
#: the browser sent no CSRF cookie at all.
NO_CSRF_COOKIE = "CSRF cookie not set."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 with a way back to the form: "Reload this form" opens it afresh."""
    if reason == NO_CSRF_COOKIE:
        message = (
            "Your browser did not send the panel's cookie for forms, so the form could not "
            "be checked and nothing was saved. The cookie may have been removed or blocked: "
            "allow cookies for this site, then reload the form."
        )
    else:
        message = (
            "The form had expired (or came from another site), so nothing was saved. "
            "Reload this form and send it again; what you typed there is not kept."
        )
    return render(
        request,
        "errors/form_expired.html",
        {
            "status": 403,
            "title": "Form expired",
            "message": message,
            "reload_url": form_page(request),
        },
        status=403,
    )
