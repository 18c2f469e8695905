"""Finding users: the users index (every user where the panel may read the
store, and the recently touched ones), lookup and the user page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminpanel.accounts.mail_rights import Service, refusal
from adminpanel.accounts.middleware import get_operator, others_data_view
from adminpanel.audit.links import history_url
from adminpanel.directory.listing import Search
from adminpanel.servers import current

from .. import recent, user_list
from ..forms.listing import STARTS_WITH, UserListForm
from ..forms.lookup import LookupForm
from ..links import user_url
from ..merge import sorted_roles
from ..models import LastAction
from .common import caps, is_self, read_user, server, with_target_name


def _index(request: HttpRequest, form: LookupForm, *, status: int = 200) -> HttpResponse:
    operator = get_operator(request)
    context = {
        "search_form": form,
        "recent": recent.visible_to(operator)[: recent.LIMIT],
        "recent_limit": recent.LIMIT,
    }
    if operator.is_admin:
        listed, list_status = _user_list(request)
        context.update(listed)
        status = max(status, list_status)
    return render(request, "users/index.html", context, status=status)


def _user_list(request: HttpRequest) -> tuple[dict[str, object], int]:
    """The list of every user (or why there is none, and how to have it); its status."""
    on = server(request)
    form = UserListForm(request.GET)
    if on.user_store.kind is None:
        how = user_list.how_to_enable(caps(request), servers_file=current.named_in_urls())
        return {"list_form": None, "how_to_enable": how}, 200
    if not form.is_valid():
        return {"list_form": form, "user_list": None}, 400
    data = form.cleaned_data
    search = Search(data["q"], starts_with=data["match"] == STARTS_WITH)
    listed = user_list.read(on, search, after=data["after"] or 0)
    number = data["page"] or 1
    return {
        "list_form": form,
        "user_list": listed,
        "searched": bool(search.text),
        "page_number": number,
        "next_url": user_list.page_url(search, listed, number + 1),
        "first_url": user_list.page_url(search, None, 1),
    }, 503 if listed.error else 200


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
