"""Finding users: the users index (recently touched users), lookup and the user page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminpanel.accounts.mail_rights import Service, refusal
from adminpanel.accounts.middleware import get_operator, others_data_view
from adminpanel.audit.links import history_url
from adminpanel.servers import current

from .. import recent
from ..forms.lookup import LookupForm
from ..links import user_url
from ..merge import sorted_roles
from ..models import LastAction
from .common import caps, is_self, read_user, with_target_name


def _index(request: HttpRequest, form: LookupForm, *, status: int = 200) -> HttpResponse:
    operator = get_operator(request)
    return render(
        request,
        "users/index.html",
        {
            "search_form": form,
            "recent": recent.visible_to(operator)[: recent.LIMIT],
            "recent_limit": recent.LIMIT,
        },
        status=status,
    )


@others_data_view  # the recent-users list
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _index(request, LookupForm())


@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    """The search box: a valid name opens that user's page (pymap cannot list users)."""
    form = LookupForm(request.GET)
    if not form.is_valid():
        return _index(request, form, status=400)
    return HttpResponseRedirect(user_url("users:detail", form.cleaned_data["name"]))


@require_GET
@with_target_name
def detail(request: HttpRequest, name: str) -> HttpResponse:
    found = read_user(request, name)
    operator = get_operator(request)
    recent.note(operator.server, found.name, LastAction.VIEWED)
    capabilities = caps(request)
    server = current.for_request(request)
    # Links only: the mail itself is read on its own pages (no IMAP call here).
    mail = {
        service.value: refusal(server, operator, capabilities, found.name, service)
        for service in Service
    }
    return render(
        request,
        "users/detail.html",
        {
            "user": found,
            "roles": sorted_roles(found.roles),
            "params": sorted(found.params.items()),
            "is_self": is_self(operator, found.name),
            "caps": capabilities,
            "mail_refusals": mail,
            "audit_url": history_url(found.name),
        },
    )
