"""The one place that says which pymap server a request or a job talks to.

Without ``PANEL_SERVERS_FILE`` the panel has one server
(``settings.PYMAP_SERVER``, from the ``PYMAP_ADMIN_*`` variables) and its
URLs carry no server name. With the file (``settings.PANEL_SERVERS``), every
page's URL starts with ``/s/<server>/``: :class:`~.middleware.ServerPrefixMiddleware`
reads it and puts the server on the request, where :func:`for_request`
finds it. Workers ask :func:`by_name` for the server a job was made for.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from adminpanel.pymap.servers import PymapServer

#: Where the middleware puts the request's server.
REQUEST_ATTRIBUTE = "pymap_server"


def all_servers() -> tuple[PymapServer, ...]:
    """Every configured server, the default first."""
    named: tuple[PymapServer, ...] = settings.PANEL_SERVERS
    if named:
        return named
    configured: PymapServer = settings.PYMAP_SERVER
    return (configured,)


def named_in_urls() -> bool:
    """Whether URLs name their server (a servers file is in use)."""
    return bool(settings.PANEL_SERVERS)


def for_request(request: HttpRequest) -> PymapServer:
    """The server the request's pages act on (the default when its URL names none)."""
    chosen: PymapServer | None = getattr(request, REQUEST_ATTRIBUTE, None)
    return chosen if chosen is not None else default()


def by_name(name: str) -> PymapServer | None:
    """The configured server of that name (a job's), or None."""
    return next((server for server in all_servers() if server.name == name), None)


def default() -> PymapServer:
    """The server of work that has neither a request nor a job's name: the
    first in the servers file, or the one server."""
    return all_servers()[0]
