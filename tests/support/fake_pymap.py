"""A scripted stand-in for pymap's admin service, over grpclib.testing.ChannelFor.

Only for faults a real pymap cannot be made to produce on demand: a hang, an
UNIMPLEMENTED method, an unknown result key, a version refusal. Each handler
records the request and its metadata, then does what ``behaviour`` says.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.server import Stream
from grpclib.testing import ChannelFor

from adminpanel.pymap.generated import admin_grpc, admin_pb2
from adminpanel.pymap.servers import PymapServer

Behaviour = Callable[[Any], Any]


@dataclass
class Recorder:
    requests: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    #: method name -> callable(request) returning a response, or raising
    behaviour: dict[str, Behaviour] = field(default_factory=dict)


async def _handle(recorder: Recorder, name: str, stream: Stream[Any, Any]) -> None:
    request = await stream.recv_message()
    recorder.requests.append((name, request, dict(stream.metadata or {})))
    action = recorder.behaviour.get(name)
    if action is None:
        raise GRPCError(Status.UNIMPLEMENTED, "Method not implemented")
    response = action(request)
    if asyncio.iscoroutine(response):
        response = await response
    await stream.send_message(response)


class FakeSystem(admin_grpc.SystemBase):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def Ping(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "Ping", stream)

    async def Login(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "Login", stream)


class FakeUser(admin_grpc.UserBase):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def GetUser(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "GetUser", stream)

    async def SetUser(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "SetUser", stream)

    async def DeleteUser(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "DeleteUser", stream)


class FakeMailbox(admin_grpc.MailboxBase):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def Append(self, stream: Stream[Any, Any]) -> None:
        await _handle(self.recorder, "Append", stream)


def failure(key: str, line: bytes = b"NO failed.") -> admin_pb2.Result:
    return admin_pb2.Result(code=admin_pb2.FAILURE, key=key, response=line)


async def hang(request: Any) -> Any:
    await asyncio.sleep(3600)


def grpc_error(status: Status, message: str) -> Behaviour:
    def raise_it(request: Any) -> Any:
        raise GRPCError(status, message)

    return raise_it


def install(monkeypatch: Any, recorder: Recorder) -> PymapServer:
    """Route the service module's channels to the fake; returns a server to pass."""
    from adminpanel.pymap import channels

    async def fake_channel(server: PymapServer) -> Any:
        services: list[Any] = [FakeSystem(recorder), FakeUser(recorder), FakeMailbox(recorder)]
        # The pool closes the channel; the in-memory server needs no closing.
        return await ChannelFor(services).__aenter__()

    monkeypatch.setattr(channels, "open_channel", fake_channel)
    # A name of its own keeps this fake's channel apart in the pool. It answers
    # like the dict backend, declared so that the panel makes no calls to find
    # out (tests script every answer).
    return PymapServer(
        name=f"fake-{uuid.uuid4().hex}",
        path="/nonexistent/fake.sock",
        timeout=0.3,
        backend="dict",
    )
