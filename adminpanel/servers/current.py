"""The one place that says which pymap server a request or a job talks to.

Today the panel has one server (``settings.PYMAP_SERVER``, from the
``PYMAP_ADMIN_*`` variables); views ask :func:`for_request` and workers
:func:`by_name` for the server a job was made for, so that naming several
servers changes only this module.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from adminpanel.pymap.servers import PymapServer


def for_request(request: HttpRequest) -> PymapServer:
    """The server the request's pages act on."""
    configured: PymapServer = settings.PYMAP_SERVER
    return configured


def by_name(name: str) -> PymapServer | None:
    """The configured server of that name (a job's), or None."""
    configured: PymapServer = settings.PYMAP_SERVER
    return configured if configured.name == name else None


def default() -> PymapServer:
    """The server of work that has neither a request nor a job's name."""
    configured: PymapServer = settings.PYMAP_SERVER
    return configured
