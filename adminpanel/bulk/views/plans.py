"""A plan's page: totals, rows, apply with progress, cancel, resume, downloads."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator, others_data_view, passive_view
from adminpanel.lib.refusal import render_refusal

from .. import csvfile, downloads, password_file, plan_actions, runs
from ..models import PLANNED_KINDS, BulkPlan, Kind

PAGE_SIZE = 100
PLAN_HEADER = ("line", "name", "action", "plan", "changes", "reason", "state", "outcome")


def _plan_for(request: HttpRequest, pk: int) -> BulkPlan:
    return get_object_or_404(runs.visible_to(get_operator(request)), pk=pk)


def _to_detail(pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("bulk:detail", args=[pk]))


@others_data_view
@never_cache
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    password_file.sweep()
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
            "passwords_ready": password_file.available(plan),
            "may_take_passwords": downloads.may_take(get_operator(request).identity, plan),
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


def _change(request: HttpRequest, pk: int, change: plan_actions.PlanChange) -> HttpResponse:
    plan = _plan_for(request, pk)
    try:
        change(Acting.of(request), plan)
    except plan_actions.PlanNotChanged as exc:
        return render_refusal(request, exc)
    return _to_detail(plan.pk)


@others_data_view
@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, plan_actions.apply)


@others_data_view
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, plan_actions.cancel)


@others_data_view
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, plan_actions.resume)


@others_data_view
@never_cache
@require_GET
def passwords(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for(request, pk)
    try:
        data = downloads.take_passwords(Acting.of(request), plan)
    except (downloads.NotTheApplier, downloads.PasswordsGone) as exc:
        return render_refusal(request, exc)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-{plan.pk}-passwords.csv"'
    return response
