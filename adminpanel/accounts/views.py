from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from adminpanel.audit.record import THROTTLED, Action, record, record_attempt, record_event
from adminpanel.lib.client_address import client_address
from adminpanel.lib.pages import render_error
from adminpanel.lib.response_floor import not_before
from adminpanel.lib.return_to import local_path
from adminpanel.lib.validators import validate_user_name
from adminpanel.pymap.errors import ServerTimeout, ServerUnavailable
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current
from adminpanel.twofactor import flow
from adminpanel.users.links import user_url

from . import session, signin, throttle, user_sessions
from .acting import Acting
from .forms import SignInForm
from .middleware import current_operator, get_operator, others_data_view, public_view, set_operator

log = logging.getLogger(__name__)


def _safe_next(request: HttpRequest) -> str:
    """Where to go after sign-in: only a path on this site, never another host."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return local_path(target) or reverse("dashboard:index")


@public_view
@sensitive_post_parameters("password", "token")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if current_operator(request) is not None and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request))
    form = SignInForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _sign_in_page(request, form, status=400)
        return _attempt_sign_in(request, form)
    return _sign_in_page(request, form)


def _sign_in_page(request: HttpRequest, form: SignInForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": _safe_next(request)},
        status=status,
    )


@sensitive_variables("data")
def _attempt_sign_in(request: HttpRequest, form: SignInForm) -> HttpResponse:
    """Throttle, then ask pymap; the page again with an error, or the redirect."""
    started = time.monotonic()
    data = form.cleaned_data
    is_token = data["method"] == SignInForm.METHOD_TOKEN
    act_as = data["act_as"] or None
    claimed = signin.attempted_identity(is_token, data["username"], data["token"])
    server = current.for_request(request)
    user = signin.claimed_user(is_token, data["username"], data["token"])
    try:
        attempt = throttle.begin(server.name, client_address(request), user)
    except throttle.SignInThrottled as exc:
        record_attempt(
            request, Action.SIGN_IN, target=act_as or "", outcome=THROTTLED, identity=claimed
        )
        form.add_error(None, exc.message)
        response = _sign_in_page(request, form, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    try:
        signed_in = _ask_pymap(server, data, is_token, act_as, attempt)
    except signin.SignInRefused as exc:
        # The attempt stays counted against the limits.
        record_attempt(
            request, Action.SIGN_IN, target=act_as or "", outcome=exc.outcome, identity=claimed
        )
        form.add_error(None, exc.message)
        response = _sign_in_page(request, form)
        _refusal_takes_the_floor(started)
        return response
    return _signed_in(request, signed_in, act_as)


def _refusal_takes_the_floor(started: float) -> None:
    """Every refusal answers ``PANEL_SIGN_IN_REFUSAL_MS`` after it began,
    whether pymap slept on an unknown name or checked a wrong password: the
    time tells no one which names exist. Successful sign-ins are not held."""
    floor = settings.PANEL_SIGN_IN_REFUSAL_MS / 1000
    if floor <= 0:  # turned off (the test client's default: pyproject.toml)
        return
    took = time.monotonic() - started
    if took > floor:
        log.warning(
            "A refused sign-in took %.0f ms, more than PANEL_SIGN_IN_REFUSAL_MS (%d): "
            "raise it, or refusals' times may tell user names apart",
            took * 1000,
            settings.PANEL_SIGN_IN_REFUSAL_MS,
        )
    not_before(started + floor)


@sensitive_variables("data")
def _ask_pymap(
    server: PymapServer,
    data: dict[str, Any],
    is_token: bool,
    act_as: str | None,
    attempt: throttle.Attempt,
) -> signin.SignedIn:
    try:
        if is_token:
            signed_in = signin.with_token(server, data["token"], act_as)
        else:
            signed_in = signin.with_password(server, data["username"], data["password"], act_as)
    except (ServerUnavailable, ServerTimeout):
        # pymap was not reached or did not answer: no verdict on the
        # credentials, so nothing to count. The error page follows.
        attempt.release()
        raise
    attempt.release()
    return signed_in


def _signed_in(
    request: HttpRequest, signed_in: signin.SignedIn, act_as: str | None
) -> HttpResponse:
    """Keep the sign-in next to those to other servers, index and audit it
    (or first ask for the operator's second factor)."""
    operator = signed_in.operator
    waiting = flow.begin(
        request,
        operator,
        act_as=act_as or "",
        next_url=_safe_next(request),
        notice=signed_in.notice,
    )
    if waiting is not None:
        return waiting
    session.start(request, operator)
    user_sessions.register(request)
    set_operator(request, operator)
    record(Acting.of(request), Action.SIGN_IN, target=act_as or "")
    if signed_in.notice:
        messages.info(request, signed_in.notice)
    return HttpResponseRedirect(_safe_next(request))


@require_POST
def keep_alive(request: HttpRequest) -> HttpResponse:
    """Answers "Stay signed in" on the idle warning (static/panel/idle-warning.js):
    the session's activity is now (a POST, with the page's CSRF token); nothing
    else changes. A session that already ended gets the sign-in redirect."""
    session.keep_alive(request, get_operator(request), time.time())
    return HttpResponse(status=204)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out of every server this session is signed in to."""
    for operator in session.load_all(request).values():
        record_event(
            Action.SIGN_OUT,
            identity=operator.identity,
            client_address=client_address(request),
            server=operator.server,
            target=operator.name or "",
        )
    request.session.flush()
    messages.info(request, "You have signed out.")
    return HttpResponseRedirect(reverse("accounts:sign-in"))


@others_data_view  # with the admin role, anyone's sessions: confirmed first
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every panel session of the user named in the form (``name``)."""
    operator = get_operator(request)
    name = request.POST.get("name", "")
    try:
        validate_user_name(name)
    except ValidationError as exc:
        return render_error(request, 400, exc.messages[0], title="Not a valid user name")
    if not user_sessions.may_end_sessions_of(operator, name):
        return render_error(
            request,
            403,
            f"Ending the sessions of {name} needs the admin role; you can end your own.",
        )
    ended = user_sessions.end_sessions(
        Acting.of(request), name, keep_own=False, why="sign out everywhere"
    )
    if ended.current:
        session.drop(request, operator.server)
        messages.info(request, f"You signed out everywhere: {ended.sessions} of {name} ended.")
        return HttpResponseRedirect(reverse("accounts:sign-in"))
    messages.success(request, f"Signed {name} out everywhere: {ended.sessions} ended.")
    return HttpResponseRedirect(user_url("users:detail", name))
