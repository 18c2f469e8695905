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
from adminpanel.servers import current

from .export import Format, export_response
from .forms import AuditFilterForm
from .links import target_url
from .models import AuditEvent
from .visibility import visible_to

PAGE_SIZE = 50


#: The outcome filter offers at most this many result keys.
OUTCOME_CHOICES = 100


def _outcomes(events: QuerySet[AuditEvent]) -> list[str]:
    """The outcomes among ``events``, for the filter's choice list."""
    found = events.order_by("outcome").values_list("outcome", flat=True).distinct()
    return list(found[:OUTCOME_CHOICES])


@others_data_view
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    visible = visible_to(operator)
    form = AuditFilterForm(request.GET or None, outcomes=_outcomes(visible))
    if form.is_bound and not form.is_valid():
        return _page(request, form, visible.none(), status=400)
    events = form.apply(visible) if form.is_bound else visible
    return _page(request, form, events)


@others_data_view
@require_GET
def export(request: HttpRequest, kind: Format) -> HttpResponseBase:
    """The events the list would show (same filters, every page) as a file."""
    visible = visible_to(get_operator(request))
    form = AuditFilterForm(request.GET, outcomes=_outcomes(visible))
    if not form.is_valid():
        return _page(request, form, visible.none(), status=400)
    return export_response(request, form.apply(visible), kind)


def _page(
    request: HttpRequest,
    form: AuditFilterForm,
    events: QuerySet[AuditEvent],
    *,
    status: int = 200,
) -> HttpResponse:
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    # Each server's log is its own (visibility.py): the page says which.
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "page": page,
            "rows": [(event, target_url(event)) for event in page],
            "only_server": current.for_request(request).title,
            "sees_everything": get_operator(request).is_admin,
        },
        status=status,
    )
