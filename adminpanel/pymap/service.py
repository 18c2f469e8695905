"""Plain synchronous functions, one per admin RPC, for the views.

This package is the only code that imports grpclib or the generated protobuf
modules. Each public function opens a channel to the configured
:class:`~adminpanel.pymap.servers.PymapServer`, sends ``client-version`` (and
``auth-token`` where the RPC needs one) with a deadline, checks the in-band
result and returns a plain dataclass, or raises a
:class:`~adminpanel.pymap.errors.PymapError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

import h2.exceptions
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from . import channels
from .errors import (
    IncompatibleServer,
    PymapError,
    RefusalKey,
    Refused,
    ServerFault,
    ServerTimeout,
    ServerUnavailable,
)

# Imported for its side effect: grpclib can then decode google.rpc details.
from .generated import error_details_pb2  # noqa: F401
from .generated.admin_grpc import MailboxStub, SystemStub, UserStub
from .generated.admin_pb2 import (
    FAILURE,
    AppendRequest,
    AppendResponse,
    DeleteUserRequest,
    GetUserRequest,
    LoginRequest,
    PingRequest,
    Result,
    SetUserRequest,
    UserData,
)
from .generated.health_grpc import HealthStub
from .generated.health_pb2 import HealthCheckRequest, HealthCheckResponse
from .servers import PymapServer

# Functions that handle passwords are @sensitive_variables(): Django's error
# reports then hide their variables and those of the functions they call.

#: The pymap-admin release whose protocol the vendored protos describe.
CLIENT_VERSION = "0.12.1"

T = TypeVar("T")


class _HasResult(Protocol):
    @property
    def result(self) -> Result: ...


# --- results handed to the views -------------------------------------------

#: The role that lets a pymap user act on other users.
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class ServerInfo:
    pymap_version: str
    pymap_admin_version: str
    round_trip_ms: float


class Health(StrEnum):
    SERVING = "SERVING"
    NOT_SERVING = "NOT_SERVING"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class ServerStatus:
    info: ServerInfo
    health: Health
    #: Why ``health`` is UNKNOWN when the Health call itself failed.
    health_error: PymapError | None = None


@dataclass(frozen=True)
class UserRecord:
    """A user as GetUser returns it, minus the password hash.

    Only the hash's scheme is kept (``pbkdf2-sha256``), so the hash can never
    reach a template, a log or the session by accident.
    """

    name: str
    entity_tag: int
    roles: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    has_password: bool = False
    password_scheme: str | None = None
    #: A keyed digest of the stored hash (see :func:`password_fingerprint`),
    #: to tell whether the password changed between two reads.
    password_fingerprint: str = ""

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


@dataclass(frozen=True)
class AppendOutcome:
    """Where Append put a message; ``delivered`` is False when the user's sieve
    filter discarded it (the response then carries no mailbox or UID)."""

    delivered: bool
    mailbox: str = ""
    uid_validity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class AppendItem:
    """One message of :func:`append_batch`.

    ``read`` loads the message when its turn comes, so a batch holds only the
    messages in flight in memory; ``size`` (its length) is known beforehand
    for the batch's byte budget. ``key`` is the caller's name for it.
    """

    key: int
    size: int
    read: Callable[[], bytes]
    when: int | None = None
    #: Flags for this message besides the batch's own.
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppendError:
    """Why one message of a batch was not delivered, as far as is known.

    ``sent`` is True when the whole request had been handed to the connection
    before the error: unless the server answered with a refusal, it may then
    have stored the message, so the outcome is unknown.
    """

    error: PymapError
    sent: bool

    @property
    def outcome_known(self) -> bool:
        """False when the message may or may not have been stored."""
        return isinstance(self.error, Refused) or not self.sent


def password_fingerprint(stored: str) -> str:
    """A digest of a stored password hash, keyed with ``SECRET_KEY``: equal for
    equal hashes, useless for guessing the password or the hash, so it may sit
    in a signed form field. Empty when there is no password."""
    if not stored:
        return ""
    return salted_hmac("adminpanel.pymap.password-fingerprint", stored).hexdigest()[:32]


def password_scheme(stored: str) -> str | None:
    """``$pbkdf2-sha256$29000$...`` -> ``pbkdf2-sha256``; None for other forms."""
    if stored.startswith("$"):
        scheme = stored[1:].split("$", 1)[0]
        return scheme or None
    return None


# --- transport ---------------------------------------------------------------


def _metadata(token: str | None) -> dict[str, str]:
    metadata = {"client-version": CLIENT_VERSION}
    if token is not None:
        metadata["auth-token"] = token
    return metadata


def _translate_grpc_error(exc: GRPCError) -> PymapError:
    status = exc.status
    detail = exc.message or ""
    if status is Status.FAILED_PRECONDITION and "ncompatible" in detail:
        return IncompatibleServer(
            f"The mail server refused this panel's protocol version ({CLIENT_VERSION}): "
            "it needs a different pymap-admin release."
        )
    if status is Status.UNIMPLEMENTED:
        return IncompatibleServer("The mail server does not implement this operation.")
    if status is Status.UNAVAILABLE:
        return ServerUnavailable("The mail server is unavailable right now.")
    if status is Status.DEADLINE_EXCEEDED:
        return ServerTimeout("The mail server did not answer in time.")
    if status is Status.UNAUTHENTICATED:
        return Refused("InvalidAuth", detail)
    return ServerFault(f"The mail server failed while handling the request ({status.name}).")


async def _call(
    server: PymapServer,
    invoke: Callable[[Channel, dict[str, str], float], Awaitable[T]],
    token: str | None,
) -> T:
    """Run one RPC and turn every transport failure into a PymapError."""
    try:
        channel = await channels.get(server)
        return await invoke(channel, _metadata(token), server.timeout)
    except GRPCError as exc:
        raise _translate_grpc_error(exc) from exc
    except TimeoutError as exc:
        raise ServerTimeout(
            f"The mail server did not answer within {server.timeout:g} seconds."
        ) from exc
    except (StreamTerminatedError, ProtocolError, h2.exceptions.ProtocolError) as exc:
        raise ServerUnavailable("The connection to the mail server broke off.") from exc
    except OSError as exc:
        # ConnectionRefusedError, FileNotFoundError (socket), ssl.SSLError...
        raise ServerUnavailable(f"The mail server at {server.address} is unreachable.") from exc


def _check(response: _HasResult) -> None:
    result = response.result
    if result.code == FAILURE:
        raise Refused(result.key, result.response.decode("utf-8", "replace").strip())


# --- the RPCs -------------------------------------------------------------


async def _ping(server: PymapServer) -> ServerInfo:
    started = time.perf_counter()
    response = await _call(
        server,
        lambda ch, md, t: SystemStub(ch).Ping(PingRequest(), metadata=md, timeout=t),
        None,
    )
    elapsed = (time.perf_counter() - started) * 1000
    return ServerInfo(response.pymap_version, response.pymap_admin_version, elapsed)


async def _health(server: PymapServer) -> Health:
    response = await _call(
        server,
        lambda ch, md, t: HealthStub(ch).Check(HealthCheckRequest(), metadata=md, timeout=t),
        None,
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
    response = await _call(
        server,
        lambda ch, md, t: SystemStub(ch).Login(request, metadata=md, timeout=t),
        None if password is not None else token,
    )
    _check(response)
    if not response.HasField("bearer_token"):
        raise ServerFault("The mail server accepted the sign-in but sent no token.")
    return response.bearer_token


async def _get_user(server: PymapServer, token: str, name: str) -> UserRecord:
    response = await _call(
        server,
        lambda ch, md, t: UserStub(ch).GetUser(GetUserRequest(user=name), metadata=md, timeout=t),
        token,
    )
    _check(response)
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
    response = await _call(
        server,
        lambda ch, md, t: UserStub(ch).SetUser(request, metadata=md, timeout=t),
        token,
    )
    _check(response)
    return response.entity_tag


async def _delete_user(server: PymapServer, token: str, name: str) -> None:
    response = await _call(
        server,
        lambda ch, md, t: UserStub(ch).DeleteUser(
            DeleteUserRequest(user=name), metadata=md, timeout=t
        ),
        token,
    )
    _check(response)


class _SendTurn:
    """Puts a batch's requests on the connection in the batch's order.

    Each Append waits until the one before it has been sent (not answered)
    before sending its own request, so several calls are in flight but pymap
    receives them in order, and so assigns UIDs in order (it stores each
    message as its request completes).
    """

    def __init__(self, previous: _SendTurn | None) -> None:
        self.finished: asyncio.Event = asyncio.Event()
        self.sent = False
        self._previous = previous.finished if previous is not None else None

    async def wait(self) -> None:
        if self._previous is not None:
            await self._previous.wait()

    def finish(self, *, sent: bool) -> None:
        if not self.finished.is_set():
            self.sent = sent
            self.finished.set()


async def _append_in_turn(
    channel: Channel,
    request: AppendRequest,
    metadata: dict[str, str],
    timeout: float,
    turn: _SendTurn,
) -> AppendResponse:
    """Unary Append, like grpclib's ``UnaryUnaryMethod.__call__``, but sent in turn."""
    await turn.wait()
    try:
        async with MailboxStub(channel).Append.open(metadata=metadata, timeout=timeout) as stream:
            await stream.send_message(request, end=True)
            turn.finish(sent=True)
            response = await stream.recv_message()
    finally:
        turn.finish(sent=False)  # no-op once sent; otherwise let the next one go
    if response is None:
        raise ServerFault("The mail server closed the call without an answer.")
    return response


async def _append(
    server: PymapServer,
    token: str,
    user: str,
    message: bytes,
    mailbox: str | None,
    sender: str | None,
    recipient: str | None,
    flags: Iterable[str],
    when: int | None,
    turn: _SendTurn | None = None,
) -> AppendOutcome:
    request = AppendRequest(user=user, data=message, flags=list(flags))
    request.when = when if when is not None else int(time.time())
    if mailbox:
        request.mailbox = mailbox
    if sender is not None:
        request.sender = sender
    if recipient is not None:
        request.recipient = recipient
    if turn is None:
        response = await _call(
            server,
            lambda ch, md, t: MailboxStub(ch).Append(request, metadata=md, timeout=t),
            token,
        )
    else:
        response = await _call(
            server, lambda ch, md, t: _append_in_turn(ch, request, md, t, turn), token
        )
    if not response.HasField("result"):
        return AppendOutcome(delivered=False)
    _check(response)
    return AppendOutcome(
        delivered=True,
        mailbox=response.mailbox,
        uid_validity=response.validity if response.HasField("validity") else None,
        uid=response.uid if response.HasField("uid") else None,
    )


class _ByteBudget:
    """At most ``limit`` bytes of messages in flight; a larger message waits
    until it can have the whole budget to itself."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._changed = asyncio.Condition()

    async def acquire(self, size: int) -> int:
        share = min(size, self.limit)
        async with self._changed:
            await self._changed.wait_for(lambda: self._used + share <= self.limit)
            self._used += share
        return share

    async def release(self, share: int) -> None:
        async with self._changed:
            self._used -= share
            self._changed.notify_all()


AppendReport = Callable[[AppendItem, AppendOutcome | AppendError], None]


async def _append_batch(
    server: PymapServer,
    token: str,
    user: str,
    items: Iterable[AppendItem],
    on_outcome: AppendReport,
    mailbox: str | None,
    sender: str | None,
    recipient: str | None,
    flags: tuple[str, ...],
    concurrency: int,
    max_bytes_in_flight: int,
) -> None:
    slots = asyncio.Semaphore(concurrency)
    budget = _ByteBudget(max_bytes_in_flight)
    in_flight: set[asyncio.Task[None]] = set()
    errors: list[BaseException] = []
    previous: _SendTurn | None = None

    def finished(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here; deliver() has kept it in errors

    async def deliver(item: AppendItem, turn: _SendTurn, share: int) -> None:
        result: AppendOutcome | AppendError
        try:
            try:
                message = item.read()
                own = (*flags, *(flag for flag in item.flags if flag not in flags))
                result = await _append(
                    server, token, user, message, mailbox, sender, recipient, own, item.when, turn
                )
            except PymapError as exc:
                result = AppendError(exc, sent=turn.sent)
            # Reported before the slot is freed, so the caller's iterator
            # knows every outcome so far when it is asked for the next item.
            on_outcome(item, result)
        except BaseException as exc:
            errors.append(exc)  # before the slot is freed: nothing more is sent
            raise
        finally:
            turn.finish(sent=False)  # a failed read must not hold up the next one
            await budget.release(share)
            slots.release()

    iterator = iter(items)
    try:
        while True:
            # A free slot first, then the next item: the iterator is asked
            # only when the item can go, after the outcomes reported so far.
            await slots.acquire()
            if errors:
                slots.release()
                break
            try:
                item = next(iterator, None)
                share = await budget.acquire(item.size) if item is not None else 0
            except BaseException:
                slots.release()
                raise
            if item is None:
                slots.release()
                break
            turn = _SendTurn(previous)
            task = asyncio.create_task(deliver(item, turn, share))
            in_flight.add(task)
            task.add_done_callback(finished)
            previous = turn
    finally:
        # Whatever stopped the loop, every Append already started finishes and
        # is reported: abandoning one would leave its outcome unknown.
        await asyncio.gather(*in_flight, return_exceptions=True)
    if errors:
        raise errors[0]


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


@sensitive_variables()
def change_password(server: PymapServer, token: str, name: str, new_password: str) -> int:
    """GetUser then SetUser with its entity tag, keeping roles and params."""
    current = get_user(server, token, name)
    return set_user(
        server,
        token,
        name,
        password=new_password,
        roles=current.roles,
        params=current.params,
        previous_entity_tag=current.entity_tag,
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
        _append, server, token, user, message, mailbox, sender, recipient, tuple(flags), when
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
        _append_batch,
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
