"""The client's IP address, for throttling and the audit log.

REMOTE_ADDR is the peer of the panel's own server and cannot be forged. Behind
a reverse proxy, set PANEL_CLIENT_IP_HEADER (e.g. ``X-Forwarded-For``) and
PANEL_TRUSTED_PROXIES (how many proxies append to it). The address is then
read that many entries from the right, so whatever a client writes into the
header itself (the leftmost entries) is never used.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    header: str = settings.PANEL_CLIENT_IP_HEADER
    if header:
        meta_key = "HTTP_" + header.upper().replace("-", "_")
        entries = [e for e in request.META.get(meta_key, "").split(",") if e.strip()]
        hops: int = settings.PANEL_TRUSTED_PROXIES
        if len(entries) >= hops >= 1:
            found = _valid(entries[-hops])
            if found is not None:
                return found
    return _valid(request.META.get("REMOTE_ADDR", ""))
