"""Who performs an action: the request (for its audit record), the server it
acts on, and the signed-in operator. Every app's actions take one."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.servers import PymapServer
from adminpanel.servers import current, knowledge

from .middleware import get_operator
from .session import Operator


@dataclass(frozen=True)
class Acting:
    """The request an action serves (for its audit record), its server and operator."""

    request: HttpRequest
    server: PymapServer
    operator: Operator

    @classmethod
    def of(cls, request: HttpRequest) -> Acting:
        return cls(request, current.for_request(request), get_operator(request))

    @property
    def caps(self) -> Capabilities:
        return knowledge.capabilities(self.server)
