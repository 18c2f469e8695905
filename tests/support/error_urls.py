"""The panel's URLs plus a view that fails, for 500 pages and error reports.

Tests switch to it with ``settings.ROOT_URLCONF = "tests.support.error_urls"``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_http_methods

from adminpanel import urls as panel_urls
from adminpanel.accounts.middleware import get_operator
from adminpanel.urls import handler400, handler403, handler404, handler500
from tests.support.panel_client import operator_entry

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

FAILING_PATH = "/test-failure/"


class PanelBug(Exception):
    """Stands for any bug in a view."""


@require_http_methods(["GET", "POST"])
def failing_view(request: HttpRequest) -> HttpResponse:
    # Locals an error report would show: the operator's token under a name
    # that says nothing, and the session entry that holds it.
    carried = get_operator(request).token
    stored = request.session[operator_entry(request.session)]
    raise PanelBug(f"failed after reading {len(carried)} characters and {len(stored)} keys")


urlpatterns: list[URLPattern | URLResolver] = [
    *panel_urls.urlpatterns,
    path(FAILING_PATH.strip("/") + "/", failing_view),
]
