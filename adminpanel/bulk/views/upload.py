"""Upload a CSV (it becomes a plan) and export the users the panel knows."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.middleware import get_operator, others_data_view
from adminpanel.lib.body_limits import max_body_size
from adminpanel.lib.pages import render_error
from adminpanel.pymap.errors import PymapError
from adminpanel.servers import current
from adminpanel.users.views.common import admin_only

from .. import csvfile, password_file, runs
from ..actions import start_plan
from ..export import export_csv
from ..forms import UploadForm

RECENT_PLANS = 20


@never_cache
@others_data_view
@max_body_size("PANEL_BULK_MAX_BYTES")
@require_http_methods(["GET", "POST"])
@admin_only("Importing users from a CSV")
def index(request: HttpRequest) -> HttpResponse:
    password_file.sweep()
    operator = get_operator(request)
    status = 200
    posted = request.method == "POST"
    form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
    if posted:
        status = 400
        if form.is_valid():
            try:
                made = start_plan(Acting.of(request), form.cleaned_data["upload"])
            except csvfile.FileRefused as exc:
                form.add_error("upload", exc.message)
            else:
                return HttpResponseRedirect(reverse("bulk:detail", args=[made.pk]))
    plans = [(plan, runs.shown_state(plan)) for plan in runs.visible_to(operator)[:RECENT_PLANS]]
    return render(
        request,
        "bulk/index.html",
        {
            "form": form,
            "plans": plans,
            "max_bytes": settings.PANEL_BULK_MAX_BYTES,
            "max_rows": settings.PANEL_BULK_MAX_ROWS,
        },
        status=status,
    )


@never_cache
@others_data_view
@require_GET
@admin_only("Exporting users")
def export(request: HttpRequest) -> HttpResponse:
    try:
        text, _left_out = export_csv(current.for_request(request), get_operator(request))
    except PymapError as exc:
        return render_error(request, exc.status, f"The users could not be read: {exc.message}")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="users.csv"'
    return response
