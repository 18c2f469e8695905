"""Who performs an action: the server it acts on, the operator, and where
from. Every app's actions take one, so the web and the bulk worker call the
same actions; none takes an ``HttpRequest``."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from adminpanel.lib.client_address import client_address
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current, knowledge

from .middleware import get_operator
from .session import Operator


@dataclass(frozen=True)
class Acting:
    """The server an action acts on, the operator it acts for, and their address."""

    server: PymapServer
    operator: Operator
    #: The operator's address (for the audit record and the sign-in limits).
    client_address: str | None
    #: The panel session the action comes from, which a write that ends the
    #: target user's sessions spares; None for a worker, which has none.
    session_key: str | None = None

    @classmethod
    def of(cls, request: HttpRequest) -> Acting:
        """The signed-in operator of a request, on the request's server."""
        return cls(
            current.for_request(request),
            get_operator(request),
            client_address(request),
            request.session.session_key,
        )

    @property
    def caps(self) -> Capabilities:
        return knowledge.capabilities(self.server)
