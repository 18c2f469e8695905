from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from adminpanel.accounts.middleware import current_operator
from adminpanel.servers import current


def operator(request: HttpRequest) -> dict[str, Any]:
    """The signed-in operator and the server, for the page header."""
    return {
        "operator": current_operator(request),
        "pymap_server": current.for_request(request),
    }
