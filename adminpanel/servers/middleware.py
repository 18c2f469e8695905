"""``/s/<server>/...``: every page's URL names its server (with a servers file).

The middleware takes the prefix off ``path_info`` (so the apps' URL patterns
stay as they are), puts the server on the request for
:func:`~adminpanel.servers.current.for_request`, and makes the prefix the
script prefix for the request, so that every ``reverse()`` and ``{% url %}``
of the page names the same server. A URL without a server (bookmarks from
the one-server panel) is redirected to the same page of the default server.
An unknown server's name is a 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import get_script_prefix, set_script_prefix

from adminpanel.pymap.servers import PymapServer

from . import current

_PREFIXED = re.compile(r"/s/(?P<name>[^/]+)(?P<rest>/.*)?", re.DOTALL)


@dataclass(frozen=True)
class Prefixed:
    """What a ``/s/<name>/...`` path names: its server (None when no server
    has that name: a 404) and the path the apps' URL patterns see (None for
    ``/s/<name>`` without its slash, which is redirected to ``/s/<name>/``)."""

    server: PymapServer | None
    rest: str | None


def split_prefix(path_info: str) -> Prefixed | None:
    """``path_info``'s server prefix, or None when it has none (with a
    servers file, such a path is redirected to the default server's page)."""
    match = _PREFIXED.fullmatch(path_info)
    if match is None:
        return None
    return Prefixed(current.by_name(match["name"]), match["rest"])


def app_path(path_info: str) -> str | None:
    """The path the apps' URL patterns resolve for a request to ``path_info``,
    as this middleware hands it on: without a known server's prefix; None
    when it names an unknown server (no pattern matches it). Used by the ASGI
    body guard, which must find the same view before Django runs."""
    if not current.named_in_urls():
        return path_info
    prefixed = split_prefix(path_info)
    if prefixed is None:
        return path_info  # redirected (307 for a POST) to the same view
    if prefixed.server is None:
        return None
    return prefixed.rest or "/"


class TemporaryRedirectKeepingMethod(HttpResponseRedirect):
    status_code = 307


def prefix_for(name: str) -> str:
    """The path every URL of server ``name`` starts with."""
    return f"/s/{name}/"


class ServerPrefixMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not current.named_in_urls():
            return self.get_response(request)
        prefixed = split_prefix(request.path_info)
        if prefixed is None:
            return self._unprefixed(request)
        server = prefixed.server
        if server is None:
            return self.get_response(request)  # no pattern matches it: 404
        if prefixed.rest is None:
            return HttpResponseRedirect(request.path + "/")
        setattr(request, current.REQUEST_ATTRIBUTE, server)
        request.path_info = prefixed.rest
        outer = get_script_prefix()
        set_script_prefix(outer.rstrip("/") + prefix_for(server.name))
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(outer)

    def _unprefixed(self, request: HttpRequest) -> HttpResponse:
        target = get_script_prefix().rstrip("/") + prefix_for(current.default().name)
        target += request.path_info.lstrip("/")
        if query := request.META.get("QUERY_STRING"):
            target += "?" + query
        if request.method in ("GET", "HEAD"):
            return HttpResponseRedirect(target)
        # A form posted from a page of the one-server panel: the same
        # request, to the same page of the default server.
        return TemporaryRedirectKeepingMethod(target)
