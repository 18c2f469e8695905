"""service.append_batch: bounded concurrency over one channel, in order, outcomes by callback."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused, ServerTimeout, ServerUnavailable
from adminpanel.pymap.generated import admin_pb2
from adminpanel.pymap.results import AppendError, AppendItem, AppendOutcome
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from ..support import fake_pymap
from ..support.mail import as_stored, caps_of, fetch_all, flags_kept, message
from ..support.pymap_users import MakeUser

Results = dict[int, AppendOutcome | AppendError]


def items(messages: list[bytes], reads: list[int] | None = None) -> Iterator[AppendItem]:
    for key, data in enumerate(messages):

        def read(key: int = key, data: bytes = data) -> bytes:
            if reads is not None:
                reads.append(key)
            return data

        yield AppendItem(key=key, size=len(data), read=read)


def collect() -> tuple[Results, Callable[[AppendItem, AppendOutcome | AppendError], None]]:
    results: Results = {}

    def on_outcome(item: AppendItem, outcome: AppendOutcome | AppendError) -> None:
        results[item.key] = outcome

    return results, on_outcome


def test_a_batch_arrives_complete_and_in_order(
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    imap_client: Callable[..., imaplib.IMAP4],
) -> None:
    user = pymap_user("batch")
    token = service.login(pymap_server, user.name, password=user.password)
    # Sizes vary so that a later, smaller request could overtake a larger one.
    messages = [message(i, body=b"x" * (i % 5) * 40_000) for i in range(60)]
    results, on_outcome = collect()
    # In order in parallel where the backend numbers Appends in the order they
    # arrive; one at a time where it does not (redis), as the import worker does.
    concurrency = 8 if caps_of(pymap).keeps_order_of_parallel_appends else 1
    service.append_batch(
        pymap_server,
        token,
        user.name,
        items(messages),
        on_outcome,
        flags=["$B"],
        concurrency=concurrency,
    )
    assert sorted(results) == list(range(60))
    uids = []
    for key in range(60):
        outcome = results[key]
        assert isinstance(outcome, AppendOutcome)
        assert outcome.delivered
        uids.append(outcome.uid)
    stored = fetch_all(imap_client(user.name, user.password))
    assert [item.body for item in stored] == [as_stored(pymap, data) for data in messages]
    assert [item.uid for item in stored] == uids
    assert all(item.flags == flags_kept(pymap, {"$B"}) for item in stored)


def test_refusals_are_reported_per_message(pymap_server: PymapServer, pymap_user: MakeUser) -> None:
    user = pymap_user("batch")
    token = service.login(pymap_server, user.name, password=user.password)
    results, on_outcome = collect()
    service.append_batch(
        pymap_server, token, user.name, items([message(1)]), on_outcome, mailbox="Nope"
    )
    failure = results[0]
    assert isinstance(failure, AppendError)
    assert isinstance(failure.error, Refused)
    assert failure.error.key == "MailboxNotFound"
    assert failure.sent
    assert failure.outcome_known


def _counting_fake(monkeypatch: pytest.MonkeyPatch) -> tuple[PymapServer, dict[str, Any]]:
    seen: dict[str, Any] = {"now": 0, "max": 0, "order": []}
    recorder = fake_pymap.Recorder()

    async def append(request: Any) -> Any:
        seen["order"].append(request.data)
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        await asyncio.sleep(0.01)
        seen["now"] -= 1
        return admin_pb2.AppendResponse(
            result=admin_pb2.Result(code=admin_pb2.SUCCESS), mailbox="INBOX", uid=1
        )

    recorder.behaviour["Append"] = append
    return fake_pymap.install(monkeypatch, recorder), seen


def test_no_more_than_the_concurrency_is_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    server, seen = _counting_fake(monkeypatch)
    messages = [b"m%d" % i for i in range(30)]
    results, on_outcome = collect()
    service.append_batch(server, "token", "u", items(messages), on_outcome, concurrency=4)
    assert seen["max"] == 4
    assert seen["order"] == messages
    assert len(results) == 30


def test_the_byte_budget_holds_large_messages_back(monkeypatch: pytest.MonkeyPatch) -> None:
    server, seen = _counting_fake(monkeypatch)
    messages = [bytes(100) for _ in range(6)]
    results, on_outcome = collect()
    service.append_batch(
        server, "t", "u", items(messages), on_outcome, concurrency=4, max_bytes_in_flight=150
    )
    assert seen["max"] == 1
    assert len(results) == 6


def test_ending_the_iteration_stops_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = _counting_fake(monkeypatch)
    reads: list[int] = []
    results, on_outcome = collect()

    def first_five() -> Iterator[AppendItem]:
        for item in items([b"m"] * 20, reads):
            if len(results) >= 5:
                return
            yield item

    service.append_batch(server, "t", "u", first_five(), on_outcome, concurrency=1)
    assert len(results) == 5
    assert reads == [0, 1, 2, 3, 4]


def test_a_timeout_after_sending_is_an_unknown_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = fake_pymap.Recorder(behaviour={"Append": fake_pymap.hang})
    server = fake_pymap.install(monkeypatch, recorder)
    results, on_outcome = collect()
    service.append_batch(server, "t", "u", items([b"a", b"b"]), on_outcome, concurrency=2)
    for key in (0, 1):
        failure = results[key]
        assert isinstance(failure, AppendError)
        assert isinstance(failure.error, ServerTimeout)
        assert failure.sent
        assert not failure.outcome_known


def test_an_unreachable_server_sends_nothing() -> None:
    server = PymapServer(name="gone", path="/nonexistent/pymap-admin.sock", timeout=1)
    results, on_outcome = collect()
    service.append_batch(server, "t", "u", items([b"a"]), on_outcome)
    failure = results[0]
    assert isinstance(failure, AppendError)
    assert isinstance(failure.error, ServerUnavailable)
    assert not failure.sent
    assert failure.outcome_known


def test_an_exception_in_reading_propagates_after_the_calls_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, _ = _counting_fake(monkeypatch)
    results, on_outcome = collect()

    def broken() -> bytes:
        raise OSError("disk gone")

    reads: list[int] = []
    batch = [AppendItem(key=9, size=1, read=broken), *items([b"a"] * 10, reads)]
    with pytest.raises(OSError, match="disk gone"):
        service.append_batch(server, "t", "u", iter(batch), on_outcome, concurrency=1)
    assert results == {}  # nothing after the failure was sent
    assert reads == []
