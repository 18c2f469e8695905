"""Where the second factor joins the sign-in: :func:`begin` is the one call
accounts makes, after pymap accepted and before the session holds the
token; :func:`complete` signs in once the factor was given."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts import session, user_sessions
from adminpanel.accounts.acting import Acting
from adminpanel.accounts.session import Operator
from adminpanel.audit.record import Action, record, record_attempt
from adminpanel.lib.pages import render_error

from . import pending
from .models import PendingSignIn
from .policy import has_factor, owner_of

#: The audit outcome of an admin-token sign-in while that is turned off.
ADMIN_TOKEN_OFF = "AdminTokenSignInOff"  # noqa: S105  (an outcome, not a secret)


@sensitive_variables("operator")
def begin(
    request: HttpRequest, operator: Operator, *, act_as: str, next_url: str, notice: str | None
) -> HttpResponse | None:
    """None when the sign-in may go on as it is; otherwise the answer: the
    second-factor page (the sign-in waits sealed), or a refusal."""
    if operator.admin_token and not settings.PANEL_ALLOW_ADMIN_TOKEN_SIGN_IN:
        record_attempt(
            request, Action.SIGN_IN, target=act_as, outcome=ADMIN_TOKEN_OFF,
            identity=operator.identity,
        )  # fmt: skip
        return render_error(
            request,
            403,
            "Signing in with the server's admin token is turned off on this panel "
            "(PANEL_ALLOW_ADMIN_TOKEN_SIGN_IN). Sign in as a user with the admin role.",
            title="Admin token sign-in is off",
        )
    if not has_factor(operator.server, owner_of(operator)):
        return None
    pending.create(request, operator, act_as=act_as, next_url=next_url, notice=notice or "")
    return HttpResponseRedirect(reverse("twofactor:verify"))


@sensitive_variables("operator")
def complete(request: HttpRequest, waiting: PendingSignIn, *, how: str) -> HttpResponse:
    """Sign in with what the pending sign-in kept; ``how`` names the factor
    for the audit log."""
    operator = pending.take(request, waiting)
    if operator is None:
        messages.warning(request, "That sign-in can no longer be completed. Please sign in again.")
        return HttpResponseRedirect(reverse("accounts:sign-in"))
    session.start(request, operator)
    user_sessions.register(request)
    request.operator = operator  # type: ignore[attr-defined]
    record(
        Acting.of(request), Action.SIGN_IN, target=waiting.act_as, detail=f"second factor: {how}"
    )
    if waiting.notice:
        messages.info(request, waiting.notice)
    return HttpResponseRedirect(waiting.next_url)
