"""Host names among the allowed hosts (for the WebAuthn relying-party ID)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

#: Where no allowed host is a host name (DEBUG lists localhost anyway).
FALLBACK_HOST = "localhost"


def is_host_name(entry: str) -> bool:
    """Whether an ALLOWED_HOSTS entry is one host name: not an IP address
    (with or without brackets), not a wildcard, not a port."""
    host = entry.strip().strip("[]")
    if not host or host == "*" or host.startswith(".") or ":" in host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def first_host_name(allowed_hosts: Iterable[str]) -> str:
    """The first entry that is a host name, lower-cased; ``localhost`` if none is."""
    return next((h.strip().lower() for h in allowed_hosts if is_host_name(h)), FALLBACK_HOST)
