"""The audit page: read-only, filtered, paginated, exportable.

There is deliberately no view that changes or deletes an event.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from adminpanel.accounts.middleware import get_operator, others_data_view

from .export import Format, export_response
from .forms import AuditFilterForm
from .models import AuditEvent
from .visibility import visible_to

PAGE_SIZE = 50


@others_data_view
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    form = AuditFilterForm(request.GET or None)
    events = visible_to(operator)
    if form.is_bound and not form.is_valid():
        return _page(request, form, events.none(), status=400)
    if form.is_bound:
        events = form.apply(events)
    return _page(request, form, events)


@others_data_view
@require_GET
def export(request: HttpRequest, kind: Format) -> HttpResponseBase:
    """The events the list would show (same filters, every page) as a file."""
    form = AuditFilterForm(request.GET)
    events = visible_to(get_operator(request))
    if not form.is_valid():
        return _page(request, form, events.none(), status=400)
    return export_response(request, form.apply(events), kind)


def _page(
    request: HttpRequest,
    form: AuditFilterForm,
    events: QuerySet[AuditEvent],
    *,
    status: int = 200,
) -> HttpResponse:
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "sees_everything": get_operator(request).is_admin},
        status=status,
    )
