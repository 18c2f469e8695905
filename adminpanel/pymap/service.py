"""Plain synchronous functions, one per admin RPC, for the views.

This package is the only code that imports grpclib or the generated protobuf
modules. Each public function opens a channel to the given
:class:`~adminpanel.pymap.servers.PymapServer`, sends ``client-version`` (and
``auth-token`` where the RPC needs one) with a deadline (transport.py),
checks the in-band result and returns a plain dataclass (results.py), or
raises a :class:`~adminpanel.pymap.errors.PymapError`. Batches of Appends are
in append.py; :class:`UserReads` starts many GetUser at once for a worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future

from django.views.decorators.debug import sensitive_variables

from . import channels
from .append import AppendReport, append_many, append_one
from .errors import PymapError, RefusalKey, Refused, ServerFault, ServerTimeout
from .generated.admin_grpc import SystemStub, UserStub
from .generated.admin_pb2 import (
    DeleteUserRequest,
    GetUserRequest,
    LoginRequest,
    PingRequest,
    SetUserRequest,
    UserData,
)
from .generated.health_grpc import HealthStub
from .generated.health_pb2 import HealthCheckRequest, HealthCheckResponse
from .results import (
    ADMIN_ROLE,
    AppendError,
    AppendItem,
    AppendOutcome,
    Health,
    ServerInfo,
    ServerStatus,
    UserRecord,
    password_fingerprint,
    password_scheme,
)
from .servers import PymapServer
from .transport import CLIENT_VERSION, call, check

__all__ = [
    "ADMIN_ROLE",
    "CLIENT_VERSION",
    "AppendError",
    "AppendItem",
    "AppendOutcome",
    "AppendReport",
    "Health",
    "ServerInfo",
    "ServerStatus",
    "UserReads",
    "UserRecord",
    "append",
    "append_batch",
    "delete_user",
    "get_user",
    "health",
    "health_survey",
    "login",
    "may_act_on_others",
    "ping",
    "set_user",
    "set_wait_hook",
    "status",
]

#: See channels.set_wait_hook: what a thread holds while it waits for answers.
set_wait_hook = channels.set_wait_hook

# Functions that handle passwords are @sensitive_variables(): Django's error
# reports then hide their variables and those of the functions they call.


async def _ping(server: PymapServer) -> ServerInfo:
    started = time.perf_counter()
    response = await call(
        server,
        lambda ch, md, t: SystemStub(ch).Ping(PingRequest(), metadata=md, timeout=t),
        None,
        method="Ping",
    )
    elapsed = (time.perf_counter() - started) * 1000
    return ServerInfo(response.pymap_version, response.pymap_admin_version, elapsed)


async def _health(server: PymapServer) -> Health:
    response = await call(
        server,
        lambda ch, md, t: HealthStub(ch).Check(HealthCheckRequest(), metadata=md, timeout=t),
        None,
        method="HealthCheck",
    )
    if response.status == HealthCheckResponse.SERVING:
        return Health.SERVING
    if response.status == HealthCheckResponse.NOT_SERVING:
        return Health.NOT_SERVING
    return Health.UNKNOWN


@sensitive_variables()
async def _login(
    server: PymapServer,
    authcid: str,
    password: str | None,
    token: str | None,
    authzid: str | None,
) -> str:
    request = LoginRequest(authcid=authcid)
    if password is not None:
        request.secret = password
    if authzid:
        request.authzid = authzid
    # Never set token_expiration: pymap 0.36.7 writes a naive timestamp that
    # makes the token unusable. Callers attenuate the token instead.
    response = await call(
        server,
        lambda ch, md, t: SystemStub(ch).Login(request, metadata=md, timeout=t),
        None if password is not None else token,
        method="Login",
    )
    check(response)
    if not response.HasField("bearer_token"):
        raise ServerFault("The mail server accepted the sign-in but sent no token.")
    return response.bearer_token


async def _get_user(server: PymapServer, token: str, name: str) -> UserRecord:
    response = await call(
        server,
        lambda ch, md, t: UserStub(ch).GetUser(GetUserRequest(user=name), metadata=md, timeout=t),
        token,
        method="GetUser",
    )
    check(response)
    data = response.data
    stored = data.password if data.HasField("password") else ""
    return UserRecord(
        name=response.user or name,
        entity_tag=response.entity_tag,
        roles=tuple(data.roles),
        params=dict(data.params),
        has_password=bool(stored),
        password_scheme=password_scheme(stored) if stored else None,
        password_fingerprint=password_fingerprint(stored),
    )


@sensitive_variables()
async def _set_user(
    server: PymapServer,
    token: str,
    name: str,
    password: str | None,
    roles: Iterable[str],
    params: Mapping[str, str],
    previous_entity_tag: int | None,
) -> int:
    data = UserData(roles=list(roles), params=dict(params))
    if password is not None:
        data.password = password
    request = SetUserRequest(user=name, data=data)
    if previous_entity_tag is None:
        request.overwrite = False  # create: an existing user is CannotReplaceUser
    else:
        request.previous_entity_tag = previous_entity_tag
    response = await call(
        server,
        lambda ch, md, t: UserStub(ch).SetUser(request, metadata=md, timeout=t),
        token,
        method="SetUser",
    )
    check(response)
    return response.entity_tag


async def _delete_user(server: PymapServer, token: str, name: str) -> None:
    response = await call(
        server,
        lambda ch, md, t: UserStub(ch).DeleteUser(
            DeleteUserRequest(user=name), metadata=md, timeout=t
        ),
        token,
        method="DeleteUser",
    )
    check(response)


# --- the synchronous API used by views ----------------------------------------


def ping(server: PymapServer) -> ServerInfo:
    """Versions of pymap and pymap-admin on the server, and the round trip."""
    return channels.run(_ping, server)


def health(server: PymapServer) -> Health:
    """The grpc.health.v1 status of the whole server."""
    return channels.run(_health, server)


async def _status(server: PymapServer) -> ServerStatus:
    info, health = await asyncio.gather(_ping(server), _health(server), return_exceptions=True)
    if isinstance(info, BaseException):
        raise info
    if isinstance(health, PymapError):
        return ServerStatus(info, Health.UNKNOWN, health)
    if isinstance(health, BaseException):
        raise health
    return ServerStatus(info, health)


def status(server: PymapServer) -> ServerStatus:
    """Ping and Health at once, for the dashboard. Raises what Ping raises (the
    server is unreachable); a failing Health is UNKNOWN, with its error."""
    return channels.run(_status, server)


async def _bounded_status(server: PymapServer) -> ServerStatus | PymapError:
    try:
        return await asyncio.wait_for(_status(server), server.timeout)
    except TimeoutError:
        return ServerTimeout(f"The mail server did not answer within {server.timeout:g} seconds.")
    except PymapError as exc:
        return exc


async def _survey(servers: tuple[PymapServer, ...]) -> list[ServerStatus | PymapError]:
    return list(await asyncio.gather(*(_bounded_status(server) for server in servers)))


def survey(servers: Iterable[PymapServer]) -> list[ServerStatus | PymapError]:
    """:func:`status` of every server at once, each bounded by its own
    timeout: the status, or the error that says why there is none. One server
    that is down or slow costs the others nothing."""
    return channels.run(_survey, tuple(servers))


async def _bounded_health(server: PymapServer, timeout: float) -> Health | PymapError:
    try:
        return await asyncio.wait_for(_health(server), min(timeout, server.timeout))
    except TimeoutError:
        return ServerTimeout(f"The mail server did not answer within {timeout:g} seconds.")
    except PymapError as exc:
        return exc


async def _health_survey(
    servers: tuple[PymapServer, ...], timeout: float
) -> list[Health | PymapError]:
    return list(await asyncio.gather(*(_bounded_health(server, timeout) for server in servers)))


def health_survey(servers: Iterable[PymapServer], timeout: float) -> list[Health | PymapError]:
    """:func:`health` of every server at once, each within ``timeout`` seconds
    (the readiness probe): the status, or the error that says why there is none."""
    return channels.run(_health_survey, tuple(servers), timeout)


@sensitive_variables()
def login(
    server: PymapServer,
    authcid: str,
    *,
    password: str | None = None,
    token: str | None = None,
    authzid: str | None = None,
) -> str:
    """A new login token, from a password or from an existing token.

    With a token and no password, pymap issues a token for ``authcid`` if the
    given token may act as that user.
    """
    if (password is None) == (token is None):
        raise ValueError("login() needs exactly one of password and token")
    return channels.run(_login, server, authcid, password, token, authzid)


def get_user(server: PymapServer, token: str, name: str) -> UserRecord:
    return channels.run(_get_user, server, token, name)


class UserReads:
    """GetUser of many names with one token, at most ``concurrency`` in flight
    across every batch started, run on the long-lived loop while the caller
    goes on (a bulk plan's worker classifies and stores one batch while the
    next is read). Each batch's future gives, in the names' order, the record
    or the error of each read."""

    def __init__(self, server: PymapServer, token: str, concurrency: int) -> None:
        self.server = server
        self._token = token
        # Made without a loop (Python 3.10+), bound to the loop on first use.
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def _one(self, name: str) -> UserRecord | PymapError:
        async with self._slots:
            try:
                return await _get_user(self.server, self._token, name)
            except PymapError as exc:
                return exc

    async def _batch(self, names: tuple[str, ...]) -> list[UserRecord | PymapError]:
        return list(await asyncio.gather(*(self._one(name) for name in names)))

    def start(self, names: Iterable[str]) -> Future[list[UserRecord | PymapError]]:
        """Start reading ``names``; their results from the future."""
        return channels.start(self._batch, tuple(names))


async def _may_act_on_others(server: PymapServer, token: str) -> bool:
    try:
        await _get_user(server, token, "")
    except Refused as exc:
        if exc.is_(RefusalKey.USER_NOT_FOUND):
            return True
        if exc.is_(RefusalKey.AUTHORIZATION_FAILURE):
            return False
        raise
    # Some server stores a user with the empty name; reading it was allowed.
    return True


def may_act_on_others(server: PymapServer, token: str) -> bool:
    """Whether pymap lets ``token`` act on users other than its own.

    GetUser of the empty name, which no login can use: a token that may act
    on others gets UserNotFound, one that may not gets AuthorizationFailure.
    This is the server's own answer; the roles GetUser reports are not (on
    maildir an admin-role user signed in with a password cannot act on
    others, and the admin token's role is merged into every record). A token
    the server no longer accepts raises ``Refused`` with InvalidAuth.
    """
    return channels.run(_may_act_on_others, server, token)


@sensitive_variables()
def set_user(
    server: PymapServer,
    token: str,
    name: str,
    *,
    password: str | None,
    roles: Iterable[str] = (),
    params: Mapping[str, str] | None = None,
    previous_entity_tag: int | None = None,
) -> int:
    """Create (``previous_entity_tag=None``) or replace a user; the new tag.

    ``password`` is clear text. pymap hashes whatever it receives and stores no
    password when it is None, so an edit must always pass the password to keep.
    """
    return channels.run(
        _set_user,
        server,
        token,
        name,
        password,
        tuple(roles),
        dict(params or {}),
        previous_entity_tag,
    )


def delete_user(server: PymapServer, token: str, name: str) -> None:
    channels.run(_delete_user, server, token, name)


def append(
    server: PymapServer,
    token: str,
    user: str,
    message: bytes,
    *,
    mailbox: str | None = None,
    sender: str | None = None,
    recipient: str | None = None,
    flags: Iterable[str] = (),
    when: int | None = None,
) -> AppendOutcome:
    """Deliver ``message`` byte for byte into ``user``'s mailbox (INBOX)."""
    return channels.run(
        append_one, server, token, user, message, mailbox, sender, recipient, tuple(flags), when
    )


def append_batch(
    server: PymapServer,
    token: str,
    user: str,
    items: Iterable[AppendItem],
    on_outcome: AppendReport,
    *,
    mailbox: str | None = None,
    sender: str | None = None,
    recipient: str | None = None,
    flags: Iterable[str] = (),
    concurrency: int = 8,
    max_bytes_in_flight: int = 64 * 1024 * 1024,
) -> None:
    """Deliver many messages to one user's mailbox over one channel.

    At most ``concurrency`` Appends (and ``max_bytes_in_flight`` bytes of
    messages) are in flight at once; requests are sent in the order of
    ``items``. ``items`` is iterated lazily, one item per free slot, so the
    caller can stop the batch by ending the iteration. ``on_outcome(item,
    outcome)`` is called once per item as its Append ends, in completion order,
    with an :class:`AppendOutcome` or an :class:`AppendError`; it runs on the
    event loop's thread, so it must be quick and must not block (collect, then
    act when this function returns). Exceptions other than
    :class:`~adminpanel.pymap.errors.PymapError` (from ``read``, the iterator or
    the callback) propagate after the Appends in flight have finished.
    """
    channels.run(
        append_many,
        server,
        token,
        user,
        items,
        on_outcome,
        mailbox,
        sender,
        recipient,
        tuple(flags),
        concurrency,
        max_bytes_in_flight,
    )
