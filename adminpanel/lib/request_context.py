"""What the logs and the audit log know of the request being served.

The request middleware (adminpanel/web/observe.py) sets these context
variables for the request's duration; log records (adminpanel/lib/json_logs.py)
and audit events (adminpanel/audit/record.py) read them, so neither needs the
request object. Outside a request (task workers, commands) they are empty.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace

#: A request id a client or proxy may send: short, printable, no spaces, so it
#: cannot forge a log line or carry much of anything else.
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    #: The operator's label ("alice", "admin token"), once known.
    operator: str = ""
    #: The configured name of the request's pymap server.
    server: str = ""
    #: The URL name of the view that answers it ("users:detail").
    view: str = ""


#: Frozen, so one shared default is safe.
_NONE = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("panel_request", default=_NONE)


def current() -> RequestContext:
    return _current.get()


def current_request_id() -> str:
    return _current.get().request_id


def begin(request_id: str) -> Token[RequestContext]:
    """Start a request's context; pass the returned handle to :func:`end`."""
    return _current.set(RequestContext(request_id=request_id))


def update(**fields: str) -> None:
    _current.set(replace(_current.get(), **fields))


def end(handle: Token[RequestContext]) -> None:
    _current.reset(handle)


def request_id_from(sent: str | None) -> str:
    """The id the client sent, if it is one we accept; else a new one."""
    if sent and ACCEPTED_ID.fullmatch(sent):
        return sent
    return secrets.token_hex(16)
