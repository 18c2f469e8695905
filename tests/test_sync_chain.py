"""web/sync_chain.py: under ASGI a request's middleware and view run on one
thread, entered once; Django's asynchronous base handler (a hop back to the
loop and out again around the view) is never used."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import AsyncToSync
from django.core.handlers.base import BaseHandler

from adminpanel.web.sync_chain import SyncChainASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


def _get(handler: SyncChainASGIHandler, path: str) -> list[dict[str, Any]]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(handler(scope, receive, send))
    return sent


def test_middleware_and_view_run_on_one_thread_entered_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the asynchronous base handler ran")

    hops: list[object] = []
    to_sync = AsyncToSync.__call__

    def counted(self: AsyncToSync[Any, Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(self)
        return to_sync(self, *args, **kwargs)

    view_threads: list[int] = []
    render = BaseHandler._get_response  # type: ignore[attr-defined]

    def on_thread(self: BaseHandler, request: Any) -> Any:
        view_threads.append(threading.get_ident())
        return render(self, request)

    monkeypatch.setattr(BaseHandler, "_get_response_async", never)
    monkeypatch.setattr(AsyncToSync, "__call__", counted)
    monkeypatch.setattr(BaseHandler, "_get_response", on_thread)
    handler = SyncChainASGIHandler()
    sent = _get(handler, "/accounts/sign-in/")
    assert sent[0]["status"] == 200
    assert b"Sign in" in b"".join(m.get("body", b"") for m in sent[1:])
    assert hops == []  # no hop from the request's thread back to the loop
    assert len(view_threads) == 1
    assert view_threads[0] != threading.get_ident()  # not on the event loop's thread
