"""The ASGI guard refuses bodies before Django reads them (issue 17, point 4):
each URL's own limit, large bodies only on upload URLs from a signed-in
session, and a bound on how long a body may take to arrive.

tests/test_asgi_server.py runs the same against the panel under uvicorn.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from adminpanel.lib.body_limits import DEFAULT_MAX_BODY_SIZE
from adminpanel.pymap.servers import PymapServer
from adminpanel.web import asgi_body_guard
from adminpanel.web.asgi_body_guard import guard_asgi_body, limit_for
from adminpanel.web.request_limits import body_limit

from .support.panel_urls import PanelUrl, panel_urls
from .support.users import fake_session

SIGN_IN = "/accounts/sign-in/"
IMPORT = "/mail/import/"
NEVER = object()  #: a body chunk that never arrives


class App:
    """Stands for Django: reads the whole body, then answers 200."""

    def __init__(self, *, listen_after: bool = False) -> None:
        self.called = False
        self.body = b""
        self.disconnected = False
        self.listen_after = listen_after
        self.after: Any = None

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
        if self.listen_after:
            # Django listens for the disconnect while the view runs.
            self.after = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[Any],
    *,
    app: App | None = None,
    after: Any = None,
    http_version: str | None = None,
) -> tuple[App, list[Any]]:
    app = app or App()
    sent: list[Any] = []
    pending: list[Any] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        if chunk is not NEVER
        else NEVER
        for index, chunk in enumerate(chunks)
    ]
    if after is not None:
        pending.append(after)

    async def receive() -> Any:
        message = pending.pop(0) if pending else NEVER
        if message is NEVER:
            await asyncio.sleep(3600)
        if isinstance(message, tuple):  # (seconds, message): arrives late
            await asyncio.sleep(message[0])
            return message[1]
        return message

    async def send(message: Any) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": path, "headers": headers}
    if http_version is not None:
        scope["http_version"] = http_version
    guarded = guard_asgi_body(app)

    async def main() -> None:
        await guarded(scope, receive, send)

    asyncio.run(main())
    return app, sent


def length(size: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(size).encode())]


def statuses(sent: list[Any]) -> list[Any]:
    return [message.get("status") for message in sent]


# --- each URL's own limit ---------------------------------------------------------


def test_a_declared_length_over_the_urls_limit_never_reaches_django() -> None:
    """A 300 MiB POST to the sign-in page used to be spooled to disk first."""
    app, sent = call(SIGN_IN, length(300 * 1024 * 1024), [b"x" * 1024])
    assert not app.called
    assert statuses(sent) == [413, None]
    assert (b"connection", b"close") in sent[0]["headers"]


def test_an_undeclared_length_is_counted_against_the_urls_limit() -> None:
    chunk = b"x" * (1024 * 1024)
    app, sent = call(SIGN_IN, [], [chunk, chunk, chunk, chunk])
    assert app.disconnected  # Django stops reading and sends nothing...
    assert len(app.body) <= DEFAULT_MAX_BODY_SIZE
    assert statuses(sent) == [413, None]  # ...the guard answers


def test_an_undeclared_body_is_counted_on_http_2_and_when_the_version_is_not_said() -> None:
    chunk = b"x" * (1024 * 1024)
    for version in ("2", None):
        _, sent = call(SIGN_IN, [], [chunk] * 4, http_version=version)
        assert statuses(sent) == [413, None], version


def test_an_http_1_request_without_a_length_has_no_body_and_no_url_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_lookup(scope: object) -> None:
        raise AssertionError("the URL's limit was looked up for a request without a body")

    monkeypatch.setattr(asgi_body_guard, "limit_for", no_lookup)
    for headers in ([], [(b"content-length", b"0")]):
        app, sent = call(SIGN_IN, headers, [b""], http_version="1.1")
        assert app.called
        assert statuses(sent) == [200, None]
    # A declared body is still looked up (and here refused at its length).
    with pytest.raises(AssertionError, match="without a body"):
        call(SIGN_IN, length(10), [b"x" * 10], http_version="1.1")


def test_bodies_within_the_limit_pass_untouched() -> None:
    app, sent = call(SIGN_IN, length(100), [b"x" * 50, b"y" * 50])
    assert app.body == b"x" * 50 + b"y" * 50
    assert statuses(sent) == [200, None]


def test_an_unknown_url_gets_the_default_limit() -> None:
    app, sent = call("/no/such/page/", length(DEFAULT_MAX_BODY_SIZE + 1), [b""])
    assert not app.called
    assert statuses(sent)[0] == 413


# --- large bodies only with a session -----------------------------------------------


@pytest.mark.django_db
def test_an_upload_url_without_a_session_gets_the_default_limit() -> None:
    app, sent = call(IMPORT, length(100 * 1024 * 1024), [b"x"])
    assert not app.called
    assert statuses(sent)[0] == 413
    forged = [(b"cookie", b"pymap_panel_session=not-a-session"), *length(100 * 1024 * 1024)]
    app, sent = call(IMPORT, forged, [b"x"])
    assert not app.called
    assert statuses(sent)[0] == 413


@pytest.mark.django_db(transaction=True)  # the guard reads the session in another thread
def test_an_upload_url_with_a_signed_in_session_gets_its_own_limit(settings: Settings) -> None:
    client = Client()
    fake_session(client, PymapServer(name="test"), name="operator", admin=False)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}".encode()
    size = 100 * 1024 * 1024
    app, sent = call(IMPORT, [(b"cookie", cookie), *length(size)], [b"x" * 10])
    assert app.called
    assert statuses(sent)[0] == 200
    # Past the upload limit itself, still refused.
    too_big = settings.PANEL_MAX_IMPORT_BYTES + 2 * 1024 * 1024
    app, sent = call(IMPORT, [(b"cookie", cookie), *length(too_big)], [b"x"])
    assert not app.called


# --- how long a body may take -----------------------------------------------------------


def test_a_body_that_does_not_arrive_in_time_is_cut_off(settings: Settings) -> None:
    """Announcing a body and sending nothing used to hold the connection open."""
    settings.PANEL_REQUEST_BODY_SECONDS = 1
    started = time.monotonic()
    app, sent = call(SIGN_IN, length(1000), [b"x" * 10, NEVER])
    assert time.monotonic() - started < 5
    assert app.disconnected
    assert statuses(sent) == [408, None]
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_larger_body_is_allowed_time_for_its_size(settings: Settings) -> None:
    settings.PANEL_REQUEST_BODY_SECONDS = 10
    settings.PANEL_REQUEST_BODY_MIN_RATE = 1000
    from adminpanel.web.asgi_body_guard import body_seconds

    assert body_seconds(0) == 10
    assert body_seconds(50_000) == 60


def test_once_the_body_is_in_waiting_for_the_disconnect_is_not_cut_off(
    settings: Settings,
) -> None:
    settings.PANEL_REQUEST_BODY_SECONDS = 1
    app = App(listen_after=True)

    app_done, sent = call(
        SIGN_IN,
        length(3),
        [b"abc"],
        app=app,
        after=(1.5, {"type": "http.disconnect", "late": True}),
    )
    assert app_done.after == {"type": "http.disconnect", "late": True}
    assert statuses(sent) == [200, None]


@pytest.mark.django_db
def test_under_wsgi_too_an_upload_url_takes_a_large_body_only_with_a_session() -> None:
    """RequestSizeLimitMiddleware applies the same rule before CSRF parses the body."""
    announced = str(10 * 1024 * 1024)
    anonymous = Client().generic(
        "POST", IMPORT, b"x" * 10, "application/octet-stream", CONTENT_LENGTH=announced
    )
    assert anonymous.status_code == 413
    assert "accepts at most 2.5" in anonymous.content.decode()
    signed_in = Client()
    fake_session(signed_in, PymapServer(name="test"), name="operator", admin=False)
    allowed = signed_in.generic(
        "POST", IMPORT, b"x" * 10, "application/octet-stream", CONTENT_LENGTH=announced
    )
    assert allowed.status_code != 413


# --- the same limit whatever URL reaches a view (issue 27) -------------------------------

#: Every view that raises its own limit, from the resolver: a new upload view
#: is swept without anyone adding it here.
UPLOADS = [entry for entry in panel_urls() if hasattr(entry.callback, "max_body_size")]


def limit_of(path: str, cookie: bytes | None = None) -> int:
    headers = [(b"cookie", cookie)] if cookie is not None else []
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    return asyncio.run(limit_for(scope))


def test_the_sweep_finds_every_upload_view() -> None:
    names = {entry.name for entry in UPLOADS}
    assert {"mail:import", "mail:deliver", "bulk:index"} <= names


@pytest.mark.parametrize("entry", UPLOADS, ids=lambda entry: entry.name)
@pytest.mark.django_db(transaction=True)  # the guard reads the session in another thread
def test_an_upload_views_limit_is_the_same_under_its_servers_prefix(
    entry: PanelUrl, settings: Settings
) -> None:
    """With a servers file every URL starts with /s/<server>/: the guard once
    resolved that whole path, found no view and cut every upload on a
    multi-server panel off at 2.5 MiB."""
    one, two = PymapServer(name="one"), PymapServer(name="two")
    settings.PANEL_SERVERS = (one, two)
    client = Client()
    fake_session(client, two, name="operator", admin=True)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}".encode()
    own = body_limit(entry.callback, signed_in=True)
    assert own > DEFAULT_MAX_BODY_SIZE
    url = entry.url()
    for path in (url, "/s/one" + url, "/s/two" + url):
        assert limit_of(path, cookie) == own, path
        assert limit_of(path) == DEFAULT_MAX_BODY_SIZE, path  # no session: the default
    # An unknown server has no view (the router answers 404): the default.
    assert limit_of("/s/three" + url, cookie) == DEFAULT_MAX_BODY_SIZE
    # Without a servers file there is no prefix: /s/... is no page at all.
    settings.PANEL_SERVERS = ()
    assert limit_of(url, cookie) == own
    assert limit_of("/s/two" + url, cookie) == DEFAULT_MAX_BODY_SIZE
