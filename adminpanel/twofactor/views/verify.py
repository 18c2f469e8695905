"""The second step of a sign-in: a code (authenticator app or recovery
code) or a passkey, for a sign-in pymap has accepted.

The views are public in the sense of the operator middleware (nobody is
signed in yet), but answer only a browser whose session holds a pending
sign-in to this server; any other gets the sign-in page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from adminpanel.accounts.middleware import current_operator, public_view
from adminpanel.servers import current

from .. import actions, flow, passkeys, pending
from ..forms import CodeForm, PasskeyAnswerForm
from ..models import Factor, PendingSignIn, owned_by
from ..throttle import CodesThrottled

EXPIRED = "The second step of your sign-in took too long. Please sign in again."
WRONG_CODE = "That code was not accepted."
WRONG_PASSKEY = "That passkey was not accepted."
TRIES_SPENT = (
    "That was not accepted, and this sign-in has had its tries. Sign in again with your "
    "password or token."
)


def _waiting(request: HttpRequest) -> PendingSignIn | HttpResponse:
    """The browser's pending sign-in, or where to send it instead."""
    try:
        waiting = pending.load(request, current.for_request(request).name)
    except pending.Expired:
        messages.warning(request, EXPIRED)
        return HttpResponseRedirect(reverse("accounts:sign-in"))
    if waiting is not None:
        return waiting
    signed_in = current_operator(request) is not None
    return HttpResponseRedirect(reverse("dashboard:index" if signed_in else "accounts:sign-in"))


def _page(
    request: HttpRequest,
    waiting: PendingSignIn,
    form: CodeForm,
    passkey_form: PasskeyAnswerForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    keys = list(Factor.objects.filter(**owned_by(waiting.server, waiting.owner), kind="passkey"))
    has_totp = Factor.objects.filter(**owned_by(waiting.server, waiting.owner), kind="totp")
    if not has_totp.exists():
        form.fields["code"].help_text = "One of your recovery codes."
    options = ""
    if keys:
        options, challenge = passkeys.authentication_options(keys)
        PendingSignIn.objects.filter(pk=waiting.pk).update(challenge=challenge)
    return render(
        request,
        "twofactor/verify.html",
        {
            "form": form,
            "passkey_form": passkey_form or PasskeyAnswerForm(),
            "passkey_options": options,
            "has_totp": has_totp.exists(),
            "who": waiting.owner.label,
        },
        status=status,
    )


def _throttled(
    request: HttpRequest, waiting: PendingSignIn, form: CodeForm, exc: CodesThrottled
) -> HttpResponse:
    form.add_error(None, exc.message)
    response = _page(request, waiting, form, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _tries_spent(request: HttpRequest) -> HttpResponse:
    """The pending sign-in is gone (its tries were used): back to sign-in."""
    messages.warning(request, TRIES_SPENT)
    return HttpResponseRedirect(reverse("accounts:sign-in"))


@public_view
@sensitive_post_parameters("code")
@csrf_protect
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    waiting = _waiting(request)
    if isinstance(waiting, HttpResponse):
        return waiting
    form = CodeForm(request.POST or None)
    if request.method == "GET":
        return _page(request, waiting, form)
    if not form.is_valid():
        return _page(request, waiting, form, status=400)
    try:
        accepted = actions.check_code(request, waiting, form.cleaned_data["code"])
    except CodesThrottled as exc:
        return _throttled(request, waiting, form, exc)
    except actions.FactorRefused as exc:
        if exc.ended:
            return _tries_spent(request)
        form.add_error("code", WRONG_CODE)
        return _page(request, waiting, form)
    return flow.complete(request, waiting, how=accepted.how)


@public_view
@sensitive_post_parameters("credential")
@csrf_protect
@require_POST
def verify_passkey(request: HttpRequest) -> HttpResponse:
    waiting = _waiting(request)
    if isinstance(waiting, HttpResponse):
        return waiting
    answer = PasskeyAnswerForm(request.POST)
    if not answer.is_valid():
        return _page(request, waiting, CodeForm(), answer, status=400)
    try:
        accepted = actions.check_passkey(request, waiting, answer.cleaned_data["credential"])
    except actions.FactorRefused as exc:  # passkeys count per pending sign-in only
        if exc.ended:
            return _tries_spent(request)
        answer.add_error(None, WRONG_PASSKEY)
        return _page(request, waiting, CodeForm(), answer)
    return flow.complete(request, waiting, how=accepted.how)


@public_view
@csrf_protect
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    """Give up this sign-in: its sealed token is deleted at once (sign-ins
    to other servers in the same browser stay)."""
    pending.discard(request, current.for_request(request).name)
    messages.info(request, "The sign-in was cancelled.")
    return HttpResponseRedirect(reverse("accounts:sign-in"))
