from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from adminpanel.audit.record import Action, record

from . import session, signin
from .forms import SignInForm
from .middleware import get_operator, public_view


def _safe_next(request: HttpRequest) -> str:
    """Where to go after sign-in: only a path on this site, never another host."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=set()):
        return target
    return reverse("dashboard:index")


@public_view
@sensitive_post_parameters("password", "token")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if getattr(request, "operator", None) is not None and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request))
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            server = settings.PYMAP_SERVER
            act_as = data["act_as"] or None
            try:
                if data["method"] == SignInForm.METHOD_TOKEN:
                    operator = signin.with_token(server, data["token"], act_as)
                else:
                    operator = signin.with_password(
                        server, data["username"], data["password"], act_as
                    )
            except signin.SignInRefused as exc:
                form.add_error(None, exc.message)
                claimed = signin.attempted_identity(
                    data["method"] == SignInForm.METHOD_TOKEN, data["username"], data["token"]
                )
                record(
                    request,
                    Action.SIGN_IN,
                    target=act_as or "",
                    outcome=exc.outcome,
                    operator=claimed,
                )
            else:
                session.start(request, operator)
                request.operator = operator  # type: ignore[attr-defined]
                record(request, Action.SIGN_IN, target=act_as or "")
                return HttpResponseRedirect(_safe_next(request))
        else:
            status = 400
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": _safe_next(request)},
        status=status,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    record(request, Action.SIGN_OUT, target=get_operator(request).name or "")
    request.session.flush()
    messages.info(request, "You have signed out.")
    return HttpResponseRedirect(reverse("accounts:sign-in"))
