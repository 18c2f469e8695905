"""The time-zone page: choose the zone the panel shows times in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from adminpanel.accounts.middleware import get_operator

from .forms import TimeZoneForm
from .zones import choose_zone, chosen_zone, panel_zone_name


def _back_to(request: HttpRequest) -> str:
    """Where to go after saving: a local ``next``, else this page."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("preferences:time-zone")


@require_http_methods(["GET", "POST"])
def time_zone(request: HttpRequest) -> HttpResponse:
    operator = get_operator(request)
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            zone = form.cleaned_data["time_zone"]
            choose_zone(request, operator, zone)
            messages.success(request, f"Times are now shown in {zone or panel_zone_name()}.")
            return HttpResponseRedirect(_back_to(request))
        status = 400
    else:
        form = TimeZoneForm(initial={"time_zone": chosen_zone(request, operator)})
        status = 200
    return render(
        request,
        "preferences/time_zone.html",
        {"form": form, "panel_zone": panel_zone_name()},
        status=status,
    )
