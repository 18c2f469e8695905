"""One admin call on the wire: metadata, deadline, and every transport
failure turned into a :class:`~adminpanel.pymap.errors.PymapError`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import h2.exceptions
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from adminpanel.lib import metrics

from . import channels
from .errors import (
    IncompatibleServer,
    PymapError,
    Refused,
    ServerFault,
    ServerTimeout,
    ServerUnavailable,
)

# Imported for its side effect: grpclib can then decode google.rpc details.
from .generated import error_details_pb2  # noqa: F401
from .generated.admin_pb2 import FAILURE, Result
from .servers import PymapServer

#: The pymap-admin release whose protocol the vendored protos describe.
CLIENT_VERSION = "0.12.1"

T = TypeVar("T")


class HasResult(Protocol):
    @property
    def result(self) -> Result: ...


def metadata(token: str | None) -> dict[str, str]:
    metadata = {"client-version": CLIENT_VERSION}
    if token is not None:
        metadata["auth-token"] = token
    return metadata


def translate_grpc_error(exc: GRPCError) -> PymapError:
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


async def call(
    server: PymapServer,
    invoke: Callable[[Channel, dict[str, str], float], Awaitable[T]],
    token: str | None,
    *,
    method: str,
) -> T:
    """Run one RPC and turn every transport failure into a PymapError.

    ``method`` (``"GetUser"``) names the call in the metrics: count, latency
    and status per server and method (adminpanel/lib/metrics.py).
    """
    started = time.perf_counter()
    code = "OK"
    try:
        channel = await channels.get(server)
        return await invoke(channel, metadata(token), server.timeout)
    except GRPCError as exc:
        code = exc.status.name
        raise translate_grpc_error(exc) from exc
    except TimeoutError as exc:
        code = Status.DEADLINE_EXCEEDED.name
        raise ServerTimeout(
            f"The mail server did not answer within {server.timeout:g} seconds."
        ) from exc
    except (StreamTerminatedError, ProtocolError, h2.exceptions.ProtocolError) as exc:
        code = Status.UNAVAILABLE.name
        raise ServerUnavailable("The connection to the mail server broke off.") from exc
    except OSError as exc:
        # ConnectionRefusedError, FileNotFoundError (socket), ssl.SSLError...
        code = Status.UNAVAILABLE.name
        raise ServerUnavailable(f"The mail server at {server.address} is unreachable.") from exc
    except BaseException:
        code = "CANCELLED"  # the caller gave up (a survey's bound, shutdown)
        raise
    finally:
        metrics.RPCS.labels(server.name, method, code).inc()
        metrics.RPC_LATENCY.labels(server.name, method).observe(time.perf_counter() - started)


def check(response: HasResult) -> None:
    result = response.result
    if result.code == FAILURE:
        raise Refused(result.key, result.response.decode("utf-8", "replace").strip())
