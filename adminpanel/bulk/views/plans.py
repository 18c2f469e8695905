"""A plan's page: totals, rows, apply with progress, cancel, resume, downloads."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from adminpanel.accounts.middleware import get_operator, others_data_view, passive_view
from adminpanel.lib.pages import render_error
from adminpanel.lib.sealing import Purpose, seal
from adminpanel.pymap.tokens import attenuate_until

from .. import csvfile, results, runs
from ..models import PLANNED_KINDS, BulkPlan, Kind
from ..reading import read_plan
from ..tasks import apply_plan

PAGE_SIZE = 100
PLAN_HEADER = ("line", "name", "action", "plan", "changes", "reason", "state", "outcome")


def _plan_for(request: HttpRequest, pk: int) -> BulkPlan:
    return get_object_or_404(runs.visible_to(get_operator(request)), pk=pk)


def _to_detail(pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("bulk:detail", args=[pk]))


def _sealed_token(request: HttpRequest) -> bytes:
    operator = get_operator(request)
    return seal(attenuate_until(operator.token, operator.expires), Purpose.BULK_PLAN)


@others_data_view
@never_cache
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    results.sweep()
    plan = _plan_for(request, pk)
    show = request.GET.get("show", "")
    rows = plan.rows.order_by("line")
    if show in Kind.values:
        rows = rows.filter(kind=show)
    return render(
        request,
        "bulk/detail.html",
        {
            "plan": plan,
            "totals": runs.kind_totals(plan),
            "progress": runs.progress(plan),
            "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "show": show if show in Kind.values else "",
            "kinds": PLANNED_KINDS,
            "reading": runs.read_progress(plan) if plan.reading else None,
            "can_apply": runs.can_apply(plan),
            "can_cancel": runs.can_cancel(plan),
            "can_resume": runs.can_resume(plan),
            "passwords_ready": results.available(plan),
        },
    )


@passive_view
@others_data_view
@never_cache
@require_GET
def progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    plan = _plan_for(request, pk)
    shown = runs.read_progress(plan) if plan.reading else runs.progress(plan)
    return JsonResponse(shown.as_json())


@others_data_view
@never_cache
@require_GET
def plan_csv(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    rows = (
        [
            str(row.line),
            row.name,
            row.requested,
            row.kind,
            "; ".join(row.changes),
            row.reason,
            row.get_state_display(),
            row.outcome,
        ]
        for row in plan.rows.order_by("line")
    )
    response = HttpResponse(
        csvfile.write(rows, PLAN_HEADER), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="bulk-plan-{plan.pk}.csv"'
    return response


@others_data_view
@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    if not runs.can_apply(plan) or not runs.queue(plan, _sealed_token(request)):
        return render_error(
            request,
            409,
            "This plan cannot be applied: it was applied already, "
            "cancelled, or has nothing to write.",
        )
    apply_plan.enqueue(plan.pk)
    return _to_detail(plan.pk)


@others_data_view
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    if not runs.can_cancel(plan):
        return render_error(request, 409, "This plan has ended: there is nothing to cancel.")
    runs.cancel(plan)
    return _to_detail(plan.pk)


@others_data_view
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    if not runs.can_resume(plan) or not runs.resume(plan, _sealed_token(request)):
        return render_error(
            request,
            409,
            "This plan cannot be resumed: a worker is applying it, or nothing is left to apply.",
        )
    (read_plan if plan.reading else apply_plan).enqueue(plan.pk)
    return _to_detail(plan.pk)


@others_data_view
@never_cache
@require_GET
def passwords(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    data = results.take(plan)
    if data is None:
        return render_error(
            request,
            410,
            "The generated passwords are no longer here: they can be downloaded once, within "
            "an hour of being made. Set a new password on each user's page.",
        )
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-{plan.pk}-passwords.csv"'
    return response
