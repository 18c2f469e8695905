"""What a page gives away besides its content (issue 17, points 9, 10 and 14).

* Nothing behind sign-in may be kept by a browser or proxy cache
  (``Cache-Control: no-store``), error pages and exports included.
* Before sign-in the panel names its mail server but not where it is (the
  admin socket path, or host and port).
* No input carries ``maxlength``: a browser would cut a pasted value silently.

Every URL comes from the resolver, so views added later are covered too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from adminpanel.pymap.servers import PymapServer

from .support.panel_client import SIGN_IN, sign_in
from .support.panel_urls import PanelUrl, panel_urls
from .support.pymap_users import MakeUser

pytestmark = pytest.mark.django_db

URLS = panel_urls()


def _name(entry: PanelUrl) -> str:
    return entry.name


def _never_stored(response: Any) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def admin_client(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> Client:
    sign_in(client, pymap_user("operator", roles=["admin"]))
    return client


@pytest.mark.parametrize("entry", URLS, ids=_name)
def test_every_page_behind_sign_in_is_never_stored(
    entry: PanelUrl, admin_client: Client, pymap_user: MakeUser
) -> None:
    response = admin_client.get(entry.url(pymap_user(prefix="sample").name))
    assert _never_stored(response), (response.status_code, response.get("Cache-Control"))


def test_error_pages_and_exports_are_never_stored(admin_client: Client) -> None:
    responses = {
        "404": admin_client.get("/no/such/page/"),
        "400 bad name": admin_client.get("/users/user/", {"name": "bad name"}),
        "403 CSRF": Client(enforce_csrf_checks=True).post(SIGN_IN, {"method": "password"}),
        "export": admin_client.get("/audit/export.json"),
        "health.json": admin_client.get("/health.json"),
    }
    for what, response in responses.items():
        assert _never_stored(response), what


def test_static_files_may_still_be_cached(admin_client: Client, settings: Any) -> None:
    """no-store is for pages; the stylesheet holds nothing of an operator's."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/panel/panel.css")
    assert response.status_code == 200
    assert not _never_stored(response)
    response.close()


# --- the server's address --------------------------------------------------------


def _anonymous_pages() -> dict[str, Any]:
    strict = Client(enforce_csrf_checks=True)
    return {
        "sign-in page": Client().get(SIGN_IN),
        "404": Client().get("/no/such/page/"),
        "403 CSRF": strict.post(SIGN_IN, {"method": "password"}),
        "400 disallowed Host": Client().get(SIGN_IN, HTTP_HOST="evil.example"),
    }


def test_before_sign_in_only_the_servers_name_is_shown(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    socket_path = pymap_server.path
    assert socket_path
    for what, response in _anonymous_pages().items():
        html = response.content.decode()
        assert socket_path not in html, what
        assert pymap_server.address not in html, what
        if what != "400 disallowed Host":
            assert pymap_server.name in html, what
    # Signed in, the header says where the server is (the check above is not vacuous).
    client = Client()
    sign_in(client, pymap_user())
    assert socket_path in client.get("/").content.decode()


def test_a_tcp_servers_host_and_port_are_not_shown_either(settings: Any) -> None:
    settings.PYMAP_SERVER = PymapServer(name="mail-main", host="10.9.8.7", port=50123)
    for what, response in _anonymous_pages().items():
        html = response.content.decode()
        assert "10.9.8.7" not in html, what
        assert "50123" not in html, what


# --- maxlength ------------------------------------------------------------------------


@pytest.mark.parametrize("entry", URLS, ids=_name)
def test_no_input_on_any_page_carries_maxlength(
    entry: PanelUrl, admin_client: Client, pymap_user: MakeUser
) -> None:
    url = entry.url(pymap_user(prefix="sample").name)
    for response in (Client().get(url), admin_client.get(url)):
        if response.get("Content-Type", "").startswith("text/html"):
            assert "maxlength" not in response.content.decode()


def test_the_sign_in_page_carries_no_maxlength() -> None:
    html = Client().get(SIGN_IN).content.decode()
    assert 'name="password"' in html
    assert "maxlength" not in html


def test_overlong_sign_in_values_are_still_refused_by_the_form(pymap_server: PymapServer) -> None:
    too_long = Client().post(
        SIGN_IN, {"method": "password", "username": "someone", "password": "p" * 1025}
    )
    assert too_long.status_code == 400
    assert "at most 1024 characters" in too_long.content.decode()
    token = Client().post(SIGN_IN, {"method": "token", "token": "t" * 8193})
    assert token.status_code == 400
    assert "at most 8192 characters" in token.content.decode()
