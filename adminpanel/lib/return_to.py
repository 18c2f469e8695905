"""Where to send an operator back to after a form could not be accepted.

A POST that fails because the form expired (CSRF) or the session ended
cannot be replayed; the operator is offered the page the form came from:
the ``Referer`` when it is a page of this site, else the address the form
was sent to (the panel's forms post to the page that shows them). Only a
path of this site is ever returned (``url_has_allowed_host_and_scheme``),
never another host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def local_path(url: str) -> str | None:
    """``url`` if it is a path on this site (``/users/?x=1``), else None."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=set()):
        return url
    return None


def form_page(request: HttpRequest) -> str:
    """The page a POST came from, as a path of this site."""
    referer = request.headers.get("referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    if host and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        found = local_path(parts.path + (f"?{parts.query}" if parts.query else ""))
        if found is not None:
            return found
    return request.get_full_path()
