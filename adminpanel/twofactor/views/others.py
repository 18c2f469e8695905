"""Other operators' second factors on this server, for the admin role: who
has how many, and removing them all (a lost phone), with a reason."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.accounts.middleware import get_operator, others_data_view
from adminpanel.lib.pages import render_error

from .. import actions
from ..forms import RemoveOthersForm
from ..models import Factor

NEEDS_ADMIN = "Other operators' second factors are for operators who may act on other users."


def _owners(server: str) -> list[dict[str, object]]:
    rows = (
        Factor.objects.filter(server=server)
        .values("identity_kind", "identity_name")
        .annotate(count=Count("pk"))
        .order_by("identity_kind", "identity_name")
    )
    return [
        {
            "identity": Identity(IdentityKind(row["identity_kind"]), row["identity_name"]),
            "kind": row["identity_kind"],
            "name": row["identity_name"],
            "count": row["count"],
        }
        for row in rows
    ]


def _page(request: HttpRequest, form: RemoveOthersForm | None, status: int = 200) -> HttpResponse:
    server = get_operator(request).server
    context = {"owners": _owners(server), "form": form}
    return render(request, "twofactor/others.html", context, status=status)


@others_data_view
@require_GET
def others(request: HttpRequest) -> HttpResponse:
    if not get_operator(request).is_admin:
        return render_error(request, 403, NEEDS_ADMIN)
    return _page(request, None)


@others_data_view
@require_POST
def remove_others(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    if not operator.is_admin:
        return render_error(request, 403, NEEDS_ADMIN)
    form = RemoveOthersForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    identity = Identity(IdentityKind(form.cleaned_data["kind"]), form.cleaned_data["name"])
    count = actions.remove_all_of(Acting.of(request), identity, form.cleaned_data["reason"])
    if count:
        messages.success(request, f"Removed {count} second factor(s) of {identity.label}.")
    else:
        messages.info(request, f"{identity.label} has no second factor on this server.")
    return HttpResponseRedirect(reverse("twofactor:others"))
