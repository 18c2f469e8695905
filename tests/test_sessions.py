"""Session limits and cookies (ASVS 3.2, 3.3, 3.4).

tests/test_sign_in.py covers the basics (sign-out kills the cookie, the key
changes at sign-in, the token is narrowed to the session end, the absolute
limit); these add the idle clock, what activity does and does not extend,
and the cookie's flags.
"""

from __future__ import annotations

import base64
import json
import time
from http.cookies import Morsel
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts.session import SEALED_TOKEN, from_stored
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import SIGN_IN, operator_entry, session_operator, sign_in
from .support.pymap_users import MakeUser

pytestmark = pytest.mark.django_db

COOKIE = "pymap_panel_session"


def _age_session(client: Client, **changes: float) -> str:
    """Rewrite the stored operator (e.g. an older last_seen); the session key."""
    session = client.session
    session[operator_entry(session)] = {**session[operator_entry(session)], **changes}
    session.save()
    assert session.session_key is not None
    return session.session_key


def _stored(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.session[operator_entry(client.session)]
    return data


def _assert_useless(session_key: str) -> None:
    assert not Session.objects.filter(session_key=session_key).exists()
    replay = Client()
    replay.cookies[COOKIE] = session_key
    response = replay.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN)


def test_activity_refreshes_the_idle_clock(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user())
    nearly_idle = time.time() - 29 * 60
    _age_session(client, last_seen=nearly_idle)
    assert client.get("/").status_code == 200
    # The request moved last_seen to its own time: a full idle period again.
    assert _stored(client)["last_seen"] - nearly_idle >= 29 * 60


def test_polling_by_a_pages_script_is_not_activity(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """An unattended dashboard polls health.json; it must still reach the idle limit."""
    sign_in(client, pymap_user())
    nearly_idle = time.time() - 29 * 60
    _age_session(client, last_seen=nearly_idle)
    assert client.get("/health.json").status_code == 200
    assert _stored(client)["last_seen"] == nearly_idle
    _age_session(client, last_seen=time.time() - 31 * 60)
    polled = client.get("/health.json")
    assert polled.status_code == 302  # signed out, as after any idle period
    assert polled["Location"].startswith(SIGN_IN)


def test_activity_does_not_extend_the_absolute_limit(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user())
    expires_at = _stored(client)["expires_at"]
    _age_session(client, last_seen=time.time() - 10 * 60)
    assert client.get("/").status_code == 200
    assert _stored(client)["expires_at"] == expires_at


def test_after_the_idle_timeout_the_old_cookie_is_useless(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user())
    old_key = _age_session(client, last_seen=time.time() - 31 * 60)
    response = client.get("/audit/", follow=True)
    assert response.redirect_chain[-1][0].startswith(f"{SIGN_IN}?next=")
    assert "signed out after 30 minutes without activity" in response.content.decode()
    _assert_useless(old_key)


def test_after_the_absolute_timeout_the_old_cookie_is_useless_even_when_active(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user())
    old_key = _age_session(client, last_seen=time.time(), expires_at=time.time() - 1)
    response = client.get("/", follow=True)
    assert "12-hour limit" in response.content.decode()
    _assert_useless(old_key)


def test_limits_follow_the_settings(
    client: Client, settings: DjangoSettings, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    settings.PANEL_SESSION_IDLE_SECONDS = 120
    sign_in(client, pymap_user())
    _age_session(client, last_seen=time.time() - 121)
    response = client.get("/", follow=True)
    assert "signed out after 2 minutes without activity" in response.content.decode()


def test_with_a_short_idle_limit_an_active_operator_stays_signed_in(
    client: Client, settings: DjangoSettings, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """Activity is written back at least every tenth of the idle limit: with
    a one-minute limit, a request every 50 s keeps the session."""
    settings.PANEL_SESSION_IDLE_SECONDS = 60
    sign_in(client, pymap_user())
    _age_session(client, last_seen=time.time() - 50)
    for _ in range(3):
        assert client.get("/").status_code == 200
        last_seen = _stored(client)["last_seen"]
        assert time.time() - last_seen < 5  # this request was recorded
        _age_session(client, last_seen=last_seen - 50)  # 50 s pass


def test_activity_is_written_back_at_most_every_minute(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """With the default 30-minute limit a page view within a minute of the
    last recorded one costs no session write."""
    sign_in(client, pymap_user())
    recent = time.time() - 30
    _age_session(client, last_seen=recent)
    assert client.get("/").status_code == 200
    assert _stored(client)["last_seen"] == recent


def test_the_session_store_holds_the_token_sealed(
    client: Client, settings: DjangoSettings, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """Whoever reads the panel's database finds no usable bearer token."""
    sign_in(client, pymap_user())
    token = session_operator(client).token
    row = Session.objects.get(session_key=client.session.session_key)
    stored = json.dumps(row.get_decoded())
    assert token not in stored
    assert token.encode() not in base64.b64decode(_stored(client)[SEALED_TOKEN])
    assert "token" not in {key for key in _stored(client) if key != SEALED_TOKEN}
    assert client.get("/").status_code == 200  # the panel itself opens it
    # Another SECRET_KEY (a copy of the database elsewhere) opens nothing: the
    # session is over rather than carrying a token nobody can read.
    kept = _stored(client)
    assert from_stored(kept) is not None
    settings.SECRET_KEY = "another-key-" + "x" * 50
    assert from_stored(kept) is None


def _cookie(response: Any, name: str) -> Morsel[str]:
    morsel: Morsel[str] = response.cookies[name]
    return morsel


def test_session_cookie_is_secure_httponly_samesite_and_dies_with_the_browser(
    client: Client, settings: DjangoSettings, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    settings.SESSION_COOKIE_SECURE = True
    cookie = _cookie(sign_in(client, pymap_user(), secure=True), COOKIE)
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == ""  # no persistent cookie
    assert cookie["expires"] == ""


def test_csrf_cookie_is_secure_httponly_and_samesite(
    settings: DjangoSettings, client: Client
) -> None:
    settings.CSRF_COOKIE_SECURE = True
    cookie = _cookie(client.get(SIGN_IN, secure=True), "csrftoken")
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_holds_only_a_random_key(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user())
    value = client.cookies[COOKIE].value
    assert len(value) == 32
    assert value.isalnum()
    assert session_operator(client).token not in value
