"""The token pages: issue one (shown once), and inspect or narrow a pasted one.

Neither page puts a token anywhere but the one response that shows it: no
redirect (the token would have to wait in the session), no URL, no log;
every response is no-store. Inspecting is offline: pure pymacaroons.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator
from adminpanel.accounts.session import Operator
from adminpanel.accounts.throttle import SignInThrottled
from adminpanel.lib.refusal import add_to_form, with_refusal
from adminpanel.pymap import cli_commands
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.tokens import NarrowingRefused, add_caveats, narrowing_caveats, read_token
from adminpanel.servers import current, knowledge

from . import actions
from .forms import InspectTokenForm, IssueTokenForm

NOT_ADMIN = (
    "this session may act only on its own user, so it can issue a token only for itself. "
    "No token was issued."
)


def _own_password_user(operator: Operator) -> str | None:
    """The user who may issue their own token with a password, if any."""
    identity = operator.identity
    if operator.admin_token or operator.name is None or identity.act_as:
        return None
    return operator.name


def _issue_page(request: HttpRequest, form: IssueTokenForm, status: int = 200) -> HttpResponse:
    operator = get_operator(request)
    return render(
        request,
        "tokens/issue.html",
        {
            "form": form,
            "own_user": _own_password_user(operator),
            "caps": knowledge.capabilities(current.for_request(request)),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password")
def issue(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    for_others = operator.is_admin
    if not for_others and _own_password_user(operator) is None:
        return _issue_page(request, IssueTokenForm(for_others=False), 403)
    if request.method == "GET":
        initial = {"user": operator.name or ""} if for_others else {}
        return _issue_page(request, IssueTokenForm(initial=initial, for_others=for_others))
    form = IssueTokenForm(request.POST, for_others=for_others)
    asked_for = request.POST.get("user", "")
    if not for_others and asked_for not in ("", operator.name):
        form.is_valid()
        form.add_error(None, f"Issuing a token for {asked_for!r} needs the admin role: {NOT_ADMIN}")
        return _issue_page(request, form, 403)
    if not form.is_valid():
        return _issue_page(request, form, 400)
    user = form.cleaned_data["user"] if for_others else operator.name
    assert user is not None
    return _issue_for(request, form, user, for_others=for_others)


@sensitive_variables("issued")
def _issue_for(
    request: HttpRequest, form: IssueTokenForm, user: str, *, for_others: bool
) -> HttpResponse:
    """Call the action; the issued page, or the form with why nothing was issued."""
    try:
        issued = actions.issue_token(
            Acting.of(request),
            user,
            password=None if for_others else form.cleaned_data["password"],
            lifetime_seconds=form.lifetime_seconds(),
            act_as=form.cleaned_data["act_as"] or None,
        )
    except (actions.IssueRefused, SignInThrottled) as exc:
        add_to_form(form, exc)
        return with_refusal(_issue_page(request, form), exc)
    except PymapError as exc:
        return _not_issued(request, form, exc, user)
    server = current.for_request(request)
    return render(
        request,
        "tokens/issued.html",
        {
            "issued": issued,
            "use": cli_commands.use_token(server, issued.act_as_or_user),
            "cli_command": cli_commands.issue_token(
                server, user, with_password=not for_others, caveats=issued.caveats
            ),
            "caps": knowledge.capabilities(server),
        },
    )


def _not_issued(
    request: HttpRequest, form: IssueTokenForm, exc: PymapError, user: str
) -> HttpResponse:
    if isinstance(exc, Refused) and exc.is_(RefusalKey.INVALID_AUTH):
        raise exc  # the session's token: the error middleware signs out
    if isinstance(exc, Refused) and exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
        form.add_error("user", f"The mail server does not let you act on {user!r}.")
        return _issue_page(request, form, 403)
    form.add_error(None, f"{exc.message} No token was issued.")
    return _issue_page(request, form, exc.status)


@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("token")
@sensitive_variables("narrowed")
def inspect(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "tokens/inspect.html", {"form": InspectTokenForm()})
    form = InspectTokenForm(request.POST)
    narrowed: str | None = None
    added: list[str] = []
    if form.is_valid() and form.details is not None:
        until, authzid = form.until(), form.cleaned_data["act_as"] or None
        if until is not None or authzid:
            try:
                added = narrowing_caveats(form.details, until=until, authzid=authzid)
            except NarrowingRefused as exc:
                form.add_error(
                    {"until": "lifetime", "authzid": "act_as"}.get(exc.field), exc.message
                )
            else:
                narrowed = add_caveats(form.cleaned_data["token"], added)
    details = form.details
    return render(
        request,
        "tokens/inspect.html",
        {
            "form": form,
            "details": details,
            "narrowed": narrowed,
            "narrowed_details": read_token(narrowed) if narrowed else None,
            "added": added,
        },
        status=400 if form.errors else 200,
    )
