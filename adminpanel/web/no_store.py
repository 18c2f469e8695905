"""``Cache-Control: no-store`` on every page the panel renders.

Pages behind sign-in show users, audit events and import reports; error
pages and JSON endpoints can too. None of it may stay in a browser's or a
proxy's cache after sign-out, so every response gets Django's never-cache
headers. The middleware sits after WhiteNoise, which answers static files
itself: those hold nothing of an operator's and may be cached.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
