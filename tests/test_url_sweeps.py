"""Sweeps over every URL the resolver knows (ASVS 4.1.1, 4.2.2, 13.1.x, 5.1.5).

The URL list comes from ``get_resolver()``, so views added later are swept
without anyone listing them: each must require a session, declare its HTTP
methods, refuse a POST without a CSRF token, and change nothing on GET.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import pytest
from django.test import Client

from adminpanel.accounts.models import FailedSignIn
from adminpanel.audit.models import AuditEvent
from adminpanel.pymap.servers import PymapServer

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.panel_client import SIGN_IN, sign_in
from .support.panel_urls import PanelUrl, panel_urls
from .support.pymap_users import MakeUser, PymapUser
from .support.users import signed_in_admin

pytestmark = pytest.mark.django_db

URLS = panel_urls()
PROTECTED = [entry for entry in URLS if not entry.is_public]
#: Reachable without a session. Adding to this list is a security decision.
#: The second step of a sign-in is reached before anyone is signed in; it
#: answers only a session holding a pending sign-in (test_twofactor_pages.py).
PUBLIC = {
    "accounts:sign-in",
    "twofactor:verify",
    "twofactor:verify-passkey",
    "twofactor:verify-cancel",
}
COOKIE = "pymap_panel_session"


def _name(entry: PanelUrl) -> str:
    return entry.name


def test_the_walk_finds_the_panels_urls() -> None:
    names = {entry.name for entry in URLS}
    expected = {"dashboard:index", "accounts:sign-in", "accounts:sign-out", "audit:list"}
    assert expected | {"audit:export-csv", "audit:export-json"} <= names


def test_only_the_sign_in_pages_are_public() -> None:
    assert {entry.name for entry in URLS if entry.is_public} == PUBLIC


def test_no_view_is_exempt_from_csrf() -> None:
    assert [e.name for e in URLS if getattr(e.callback, "csrf_exempt", False)] == []


# --- without a session ---------------------------------------------------------


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, settings: object) -> Recorder:
    """A pymap that records whatever reaches it (nothing should)."""
    recorder = Recorder()
    settings.PYMAP_SERVER = fake_pymap.install(monkeypatch, recorder)  # type: ignore[attr-defined]
    return recorder


@pytest.mark.parametrize("entry", PROTECTED, ids=_name)
def test_without_a_session_every_url_redirects_to_sign_in(
    entry: PanelUrl, recorder: Recorder
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(SIGN_IN)  # a CSRF cookie, as a browser that saw the form has
    csrf = client.cookies["csrftoken"].value
    url = entry.url()
    got = client.get(url)
    assert got.status_code == 302
    assert got["Location"] == f"{SIGN_IN}?next={quote(url, safe='')}"
    posted = client.post(url, {"csrfmiddlewaretoken": csrf, "user": "x", "password": "y"})
    assert posted.status_code == 302
    # Back to the page the form was on (here: the address it was sent to) after signing in.
    assert posted["Location"] == f"{SIGN_IN}?next={quote(url, safe='')}"
    for response in (got, posted):
        assert response.content == b""  # nothing of the page leaks
    assert recorder.requests == []
    assert not AuditEvent.objects.exists()


# --- with a session --------------------------------------------------------------


@pytest.fixture
def sample_user(pymap_server: PymapServer, pymap_user: MakeUser) -> PymapUser:
    """Fills <str:...> converters, so user pages find a user."""
    return pymap_user(prefix="sample")


@pytest.fixture
def admin_client(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> Client:
    signed_in_admin(client, pymap_user)
    return client


@pytest.mark.parametrize("entry", URLS, ids=_name)
def test_every_view_declares_its_http_methods(
    entry: PanelUrl, admin_client: Client, sample_user: PymapUser
) -> None:
    for method in ("PATCH", "DELETE", "PUT"):
        response = admin_client.generic(method, entry.url(sample_user.name))
        assert response.status_code == 405, method


@pytest.mark.parametrize("entry", URLS, ids=_name)
def test_get_changes_nothing_and_post_only_urls_refuse_it(
    entry: PanelUrl, admin_client: Client, sample_user: PymapUser
) -> None:
    events, failures = AuditEvent.objects.count(), FailedSignIn.objects.count()
    response = admin_client.get(entry.url(sample_user.name))
    if response.status_code == 405:
        assert response["Allow"] == "POST"
    else:
        # A sample value may name nothing that exists (404); only routes
        # with converters have sample values.
        # 400: a view that needs a query parameter (?name=) says so.
        expected = (200, 302, 400, 404) if "<" in entry.route else (200, 302, 400)
        assert response.status_code in expected, response.status_code
    assert (AuditEvent.objects.count(), FailedSignIn.objects.count()) == (events, failures)


@pytest.mark.parametrize("entry", URLS, ids=_name)
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_a_post_without_a_valid_csrf_token_gets_403(
    entry: PanelUrl, token: str, admin_client: Client, sample_user: PymapUser
) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.cookies[COOKIE] = admin_client.cookies[COOKIE].value
    strict.cookies["csrftoken"] = secrets.token_hex(16)
    data = {} if token == "missing" else {"csrfmiddlewaretoken": secrets.token_hex(16)}
    events = AuditEvent.objects.count()
    response = strict.post(entry.url(sample_user.name), data)
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    assert AuditEvent.objects.count() == events
    # The session survives: the refusal changed nothing.
    assert admin_client.get("/").status_code == 200


def test_sign_out_refuses_get(admin_client: Client) -> None:
    response = admin_client.get("/accounts/sign-out/")
    assert response.status_code == 405
    assert admin_client.get("/").status_code == 200


# --- where sign-in sends the browser -----------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "http:evil.example",
        " //evil.example",
        "\t//evil.example",
        "https://testserver@evil.example/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_sign_in_never_redirects_off_site(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, target: str
) -> None:
    assert sign_in(client, pymap_user(), next=target)["Location"] == "/"
    # Already signed in, a GET to the sign-in page with the same next.
    again = client.get(SIGN_IN, {"next": target})
    assert again["Location"] == "/"


def test_sign_in_follows_a_local_path_with_its_query(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    target = "/audit/?action=sign-in&page=2"
    assert sign_in(client, pymap_user(), next=target)["Location"] == target


def test_a_line_break_in_next_cannot_inject_a_header(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    response = sign_in(client, pymap_user(), next="/\r\nSet-Cookie: planted=1")
    location = response["Location"]
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\r" not in location
    assert "\n" not in location
    assert "planted" not in response.cookies
