"""Many Appends over one channel, sent in order, with bounded concurrency and
bytes in flight (imports); one Append (the deliver page)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from grpclib.client import Channel

from .errors import PymapError, ServerFault
from .generated.admin_grpc import MailboxStub
from .generated.admin_pb2 import AppendRequest, AppendResponse
from .results import AppendError, AppendItem, AppendOutcome
from .servers import PymapServer
from .transport import call, check


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


async def append_one(
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
        response = await call(
            server,
            lambda ch, md, t: MailboxStub(ch).Append(request, metadata=md, timeout=t),
            token,
            method="Append",
        )
    else:
        response = await call(
            server,
            lambda ch, md, t: _append_in_turn(ch, request, md, t, turn),
            token,
            method="Append",
        )
    if not response.HasField("result"):
        return AppendOutcome(delivered=False)
    check(response)
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


async def append_many(
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
                result = await append_one(
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
