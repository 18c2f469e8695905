"""An operator's own second factors: the list, enrolling an authenticator
app or a passkey, removing one, new recovery codes."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator
from adminpanel.accounts.session import Operator

from .. import actions, enrolling, passkeys, recovery, totp
from ..forms import PasskeyEnrolForm, TotpEnrolForm
from ..gate import enrolment_view
from ..models import Factor, owned_by
from ..policy import factors_of, needs_enrolment, owner_of, required_for


def _codes_page(request: HttpRequest, codes: list[str], *, added: str = "") -> HttpResponse:
    """The recovery codes, shown this once (every panel page is no-store)."""
    return render(request, "twofactor/recovery_codes.html", {"codes": codes, "added": added})


def _added(request: HttpRequest, name: str, codes: list[str] | None) -> HttpResponse:
    if codes is not None:
        return _codes_page(request, codes, added=name)
    messages.success(request, f"Second factor “{name}” added.")
    return HttpResponseRedirect(reverse("twofactor:factors"))


@enrolment_view
@require_GET
def factors(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    owner = owner_of(operator)
    context = {
        "factors": factors_of(operator.server, owner),
        "codes_left": recovery.unused(operator.server, owner),
        "must_enrol": needs_enrolment(operator),
        "required": required_for(operator),
        "owner": owner,
    }
    return render(request, "twofactor/factors.html", context)


@enrolment_view
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def add_totp(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    secret = enrolling.totp_secret(request, operator.server)
    form = TotpEnrolForm(request.POST or None, initial={"name": "Authenticator app"})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            step = totp.matching_step(secret, form.cleaned_data["code"])
            if step is not None:
                codes = actions.add_totp(
                    Acting.of(request), form.cleaned_data["name"], secret, step
                )
                enrolling.forget_totp(request, operator.server)
                return _added(request, form.cleaned_data["name"], codes)
            form.add_error("code", "That is not the code the app shows now. Check the app's clock.")
    uri = totp.provisioning_uri(secret, f"{owner_of(operator).label} on {operator.server}")
    context = {"form": form, "secret": secret, "qr_svg": totp.qr_svg(uri)}
    return render(request, "twofactor/add_totp.html", context, status=status)


@enrolment_view
@sensitive_post_parameters("credential")
@require_http_methods(["GET", "POST"])
def add_passkey(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    form = PasskeyEnrolForm(request.POST or None, initial={"name": "Passkey"})
    status = 200
    if request.method == "POST":
        status = 400
        challenge = enrolling.take_challenge(request, operator.server)
        if form.is_valid():
            try:
                credential = passkeys.verify_registration(
                    request, challenge, form.cleaned_data["credential"]
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                codes = actions.add_passkey(
                    Acting.of(request), form.cleaned_data["name"], credential
                )
                return _added(request, form.cleaned_data["name"], codes)
    return _passkey_page(request, operator, form, status)


def _passkey_page(
    request: HttpRequest, operator: Operator, form: PasskeyEnrolForm, status: int
) -> HttpResponse:
    owner = owner_of(operator)
    existing = [f for f in factors_of(operator.server, owner) if f.kind == Factor.Kind.PASSKEY]
    options, challenge = passkeys.registration_options(operator.server, owner, existing)
    enrolling.keep_challenge(request, operator.server, challenge)
    context = {"form": form, "passkey_form": form, "options": options, "rp_id": passkeys.rp_id()}
    return render(request, "twofactor/add_passkey.html", context, status=status)


@enrolment_view
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    operator = get_operator(request)
    owned = Factor.objects.filter(**owned_by(operator.server, owner_of(operator)))
    factor = owned.filter(pk=pk).first()
    if factor is None:
        raise Http404("no such factor of yours")
    try:
        actions.remove_own(Acting.of(request), factor)
    except actions.LastFactorRequired:
        messages.error(
            request, "This panel requires a second factor: add another before removing this one."
        )
    else:
        messages.success(request, f"Second factor “{factor.name}” removed.")
    return HttpResponseRedirect(reverse("twofactor:factors"))


@enrolment_view
@require_POST
def new_codes(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    if not factors_of(operator.server, owner_of(operator)):
        messages.error(request, "Recovery codes come with a second factor: add one first.")
        return HttpResponseRedirect(reverse("twofactor:factors"))
    return _codes_page(request, actions.new_recovery_codes(Acting.of(request)))
