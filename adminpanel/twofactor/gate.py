"""PANEL_REQUIRE_SECOND_FACTOR: an operator who must have a second factor
and has none reaches only the enrolment pages (and sign-out) until one is
enrolled, right after sign-in or after an admin removed theirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from adminpanel.accounts.middleware import current_operator

from .policy import OFF, needs_enrolment

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])

#: Reachable before enrolment besides the views marked enrolment_view.
_ALWAYS = frozenset({"accounts:sign-out", "accounts:sign-in"})


def enrolment_view(view: ViewT) -> ViewT:
    """Mark a view an operator who still has to enrol may reach."""
    view.panel_enrolment = True  # type: ignore[attr-defined]
    return view


class EnrolmentGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if settings.PANEL_REQUIRE_SECOND_FACTOR == OFF:
            return None
        operator = current_operator(request)
        if operator is None or getattr(view_func, "panel_enrolment", False):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in _ALWAYS:
            return None
        if getattr(view_func, "panel_public", False) or not needs_enrolment(operator):
            return None
        return HttpResponseRedirect(reverse("twofactor:factors"))
