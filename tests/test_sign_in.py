"""Signing in through the real pymap: password, admin token, bearer token, act-as."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pymacaroons import Macaroon

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import operator_entry, signed_in_anywhere
from .support.panel_client import session_operator as unsealed
from .support.pymap_users import MakeUser, PymapUser

SIGN_IN = "/accounts/sign-in/"
GENERIC = "the user name, password or token was not accepted"

pytestmark = pytest.mark.django_db


def sign_in_with_password(client: Client, name: str, password: str, **extra: str) -> Any:
    data = {"method": "password", "username": name, "password": password, **extra}
    return client.post(SIGN_IN, data)


def sign_in_with_token(client: Client, token: str, **extra: str) -> Any:
    return client.post(SIGN_IN, {"method": "token", "token": token, **extra})


def _credentials(user: PymapUser) -> tuple[str, str]:
    return user.name, user.password


def session_operator(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.session[operator_entry(client.session)]
    return data


def test_dashboard_requires_sign_in_and_remembers_where_to_go(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=%2F"


def test_sign_in_with_password_shows_the_dashboard(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    response = sign_in_with_password(client, name, password)
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert name in html
    assert "0.36.7" in html  # pymap version, from Ping
    assert "0.12.1" in html  # pymap-admin version
    assert "SERVING" in html
    assert "admin role" not in html
    assert unsealed(client).token not in html


@pytest.mark.backends("dict", "redis")  # maildir: test_backends.py
def test_admin_role_user_is_shown_as_admin(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user(roles=["admin"]))
    sign_in_with_password(client, name, password)
    assert "admin role" in client.get("/").content.decode()


def test_sign_in_with_the_admin_token(
    client: Client, pymap_server: PymapServer, admin_token: str
) -> None:
    response = sign_in_with_token(client, admin_token)
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "admin token" in html
    assert "admin role" in html
    assert admin_token not in html


def test_sign_in_with_a_bearer_token_from_login(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    bearer = service.login(pymap_server, name, password=password)
    assert sign_in_with_token(client, bearer).status_code == 302
    assert session_operator(client)["name"] == name


@pytest.mark.parametrize(
    "attempt",
    ["wrong password", "unknown user", "malformed token", "forged admin token"],
)
def test_failed_sign_ins_all_get_the_same_message(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    attempt: str,
) -> None:
    name, _ = _credentials(pymap_user())
    forged = Macaroon(location="", identifier="", key=b"not the server key")
    forged.add_first_party_caveat("role = admin")
    secret = {
        "wrong password": "wrong-password-123",
        "unknown user": "whatever-password",
        "malformed token": "MDAwZWxvY2F0aW9uIAo-not-really",
        "forged admin token": forged.serialize(),
    }[attempt]
    if attempt == "wrong password":
        response = sign_in_with_password(client, name, secret)
    elif attempt == "unknown user":
        response = sign_in_with_password(client, f"nobody-{name}", secret)
    else:
        response = sign_in_with_token(client, secret)
    html = response.content.decode()
    assert response.status_code == 200
    assert GENERIC in html
    assert 'role="alert"' in html
    assert secret not in html  # neither the password nor the token is echoed
    assert not signed_in_anywhere(client.session)


@pytest.mark.backends("dict", "redis")  # maildir: test_backends.py
def test_act_as_another_user_with_the_admin_role(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin_name, admin_password = _credentials(pymap_user(roles=["admin"]))
    target, _ = _credentials(pymap_user())
    sign_in_with_password(client, admin_name, admin_password, act_as=target)
    operator = session_operator(client)
    assert operator["name"] == target
    assert operator["signed_in_as"] == admin_name
    assert operator["is_admin"] is False  # the session carries the target's rights
    assert f"{target} (signed in as {admin_name})" in client.get("/").content.decode()


def test_act_as_with_the_admin_token(
    client: Client,
    pymap_server: PymapServer,
    admin_token: str,
    pymap_user: MakeUser,
) -> None:
    target, _ = _credentials(pymap_user())
    assert sign_in_with_token(client, admin_token, act_as=target).status_code == 302
    assert session_operator(client)["name"] == target


def test_act_as_without_the_admin_role_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    other, _ = _credentials(pymap_user())
    response = sign_in_with_password(client, name, password, act_as=other)
    assert "may not act as that user" in response.content.decode()
    assert not signed_in_anywhere(client.session)


def test_session_token_is_narrowed_to_the_session_end(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    operator = session_operator(client)
    caveats = [
        c.caveat_id for c in Macaroon.deserialize(unsealed(client).token).first_party_caveats()
    ]
    time_caveats = [c for c in caveats if c.startswith("time < ")]
    assert len(time_caveats) == 1
    assert time_caveats[0].endswith("+00:00")
    assert operator["expires_at"] - operator["signed_in_at"] == pytest.approx(12 * 3600, abs=1)


def test_session_key_changes_at_sign_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    client.get(SIGN_IN)
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    assert client.session.session_key != before


def test_the_csrf_token_changes_at_sign_in(pymap_server: PymapServer, pymap_user: MakeUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(SIGN_IN)
    before = client.cookies["csrftoken"].value
    name, password = _credentials(pymap_user())
    response = client.post(
        SIGN_IN,
        {"method": "password", "username": name, "password": password},
        HTTP_X_CSRFTOKEN=before,
    )
    assert response.status_code == 302
    after = response.cookies["csrftoken"].value
    assert after != before
    # The page after sign-in works with the new token, and the old one is refused.
    assert client.get("/").status_code == 200
    assert client.post("/accounts/sign-out/", HTTP_X_CSRFTOKEN=before).status_code == 403
    assert client.post("/accounts/sign-out/", HTTP_X_CSRFTOKEN=after).status_code == 302


def test_sign_out_is_a_post_and_the_old_cookie_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    old_cookie = client.cookies["pymap_panel_session"].value
    assert client.get("/accounts/sign-out/").status_code == 405
    response = client.post("/accounts/sign-out/")
    assert response.status_code == 302
    replay = Client()
    replay.cookies["pymap_panel_session"] = old_cookie
    again = replay.get("/")
    assert again.status_code == 302
    assert again["Location"].startswith(SIGN_IN)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_after_sign_in_only_local_paths_are_followed(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    target: str,
) -> None:
    name, password = _credentials(pymap_user())
    response = sign_in_with_password(client, name, password, next=target)
    assert response["Location"] == "/"


def test_expired_session_goes_back_to_sign_in_with_a_message(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    session = client.session
    session[operator_entry(session)] = {
        **session[operator_entry(session)],
        "expires_at": time.time() - 1,
    }
    session.save()
    old_key = session.session_key
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith(SIGN_IN)
    assert "12-hour limit" in response.content.decode()
    replay = Client()
    replay.cookies["pymap_panel_session"] = old_key or ""
    assert replay.get("/").status_code == 302


def test_idle_session_goes_back_to_sign_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    session = client.session
    session[operator_entry(session)] = {
        **session[operator_entry(session)],
        "last_seen": time.time() - 31 * 60,
    }
    session.save()
    response = client.get("/", follow=True)
    assert "30 minutes without activity" in response.content.decode()


def test_server_down_gives_a_503_page_not_a_traceback(
    client: Client,
    settings: Any,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    # The same server (the session's sign-in is to it by name), now unreachable.
    settings.PYMAP_SERVER = replace(pymap_server, path="/nonexistent/pymap-admin.sock")
    response = client.get("/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "unreachable" in html
    assert "Traceback" not in html


def test_sign_in_while_server_down_is_a_503(client: Client, settings: Any) -> None:
    settings.PYMAP_SERVER = PymapServer(name="gone", path="/nonexistent/pymap-admin.sock")
    response = sign_in_with_password(client, "alice", "password123")
    assert response.status_code == 503
    assert "unreachable" in response.content.decode()


def test_sign_in_page_labels_every_input(client: Client) -> None:
    html = client.get(reverse("accounts:sign-in")).content.decode()
    for field_id in ("id_username", "id_password", "id_token", "id_act_as"):
        assert f'for="{field_id}"' in html


def test_health_endpoint_reports_the_server_state(
    client: Client, settings: Any, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    name, password = _credentials(pymap_user())
    sign_in_with_password(client, name, password)
    state = client.get("/health.json").json()
    assert state["health"] == "SERVING"
    assert state["round_trip_ms"] > 0
    settings.PYMAP_SERVER = replace(pymap_server, path="/nonexistent/pymap-admin.sock")
    down = client.get("/health.json")
    assert down.status_code == 200
    assert down.json()["health"] == "UNKNOWN"
    assert "unreachable" in down.json()["error"]
