"""The ASGI guard refuses oversized bodies before Django reads them."""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_django.fixtures import Settings

from adminpanel.request_limits import limit_asgi_body


class App:
    """Stands for Django: reads the whole body, then answers 200."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""
        self.disconnected = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[App, list[Any]]:
    app = App()
    sent: list[Any] = []
    pending = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]

    async def receive() -> Any:
        return pending.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/mail/import/", "headers": headers}
    guarded = limit_asgi_body(app)

    async def main() -> None:
        await guarded(scope, receive, send)

    asyncio.run(main())
    return app, sent


def test_a_declared_length_over_the_limit_never_reaches_django(settings: Settings) -> None:
    settings.PANEL_MAX_REQUEST_BYTES = 100
    app, sent = call([(b"content-length", b"101")], [b"x" * 101])
    assert not app.called
    assert sent[0]["status"] == 413


def test_an_undeclared_length_is_counted(settings: Settings) -> None:
    settings.PANEL_MAX_REQUEST_BYTES = 100
    app, sent = call([], [b"x" * 60, b"x" * 60, b"x" * 60])
    assert app.disconnected  # Django stops reading and sends nothing...
    assert [message.get("status") for message in sent] == [413, None]  # ...the guard answers


def test_bodies_within_the_limit_pass_untouched(settings: Settings) -> None:
    settings.PANEL_MAX_REQUEST_BYTES = 100
    app, sent = call([(b"content-length", b"100")], [b"x" * 50, b"y" * 50])
    assert app.body == b"x" * 50 + b"y" * 50
    assert sent[0]["status"] == 200
