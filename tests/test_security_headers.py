"""Security headers on every kind of response, and templates a strict CSP allows.

ASVS 14.4 (HTTP security headers), Django's deployment checklist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.pymap.servers import PymapServer

from .support.error_urls import FAILING_PATH
from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import MakeUser

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = PymapServer(name="gone", path="/nonexistent/pymap-admin.sock")


def policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def assert_hardened(response: Any) -> None:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert not any("unsafe" in s or "nonce" in s for sources in csp.values() for s in sources)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def production_headers(settings: DjangoSettings) -> None:
    """What production sends over HTTPS (tests run with DJANGO_DEBUG=1)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


def _sign_in_page(client: Client, **_: Any) -> Any:
    return client.get(SIGN_IN, secure=True)


def _dashboard(client: Client, user: MakeUser, **_: Any) -> Any:
    sign_in(client, user(), secure=True)
    return client.get("/", secure=True)


def _not_found(client: Client, **_: Any) -> Any:
    return client.get("/no/such/page/", secure=True)


def _csrf_failure(client: Client, **_: Any) -> Any:
    strict = Client(enforce_csrf_checks=True)
    return strict.post(SIGN_IN, {"method": "password"}, secure=True)


def _unreachable(client: Client, user: MakeUser, settings: DjangoSettings, **_: Any) -> Any:
    sign_in(client, user(), secure=True)
    # The server signed in to (sign-ins are per server name), now unreachable.
    settings.PYMAP_SERVER = replace(settings.PYMAP_SERVER, path=UNREACHABLE.path)
    return client.get("/", secure=True)


def _server_error(client: Client, user: MakeUser, settings: DjangoSettings, **_: Any) -> Any:
    sign_in(client, user(), secure=True)
    settings.ROOT_URLCONF = "tests.support.error_urls"
    client.raise_request_exception = False
    return client.get(FAILING_PATH, secure=True)


def _static_file(client: Client, settings: DjangoSettings, **_: Any) -> Any:
    # WhiteNoise answers from the source folders (no collectstatic in tests);
    # a fresh client builds its middleware with these settings.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/panel/panel.css", secure=True)
    assert isinstance(response, StreamingHttpResponse)
    assert response.getvalue().startswith(b"/* pymap admin panel")
    response.close()
    return response


def _audit_page(client: Client, user: MakeUser, **_: Any) -> Any:
    sign_in(client, user(), secure=True)
    return client.get("/audit/", secure=True)


def _audit_export(client: Client, user: MakeUser, **_: Any) -> Any:
    sign_in(client, user(), secure=True)
    response = client.get("/audit/export.csv", secure=True)
    assert isinstance(response, StreamingHttpResponse)
    assert response.getvalue().startswith(b"id,created_at,")
    return response


RESPONSES: dict[str, tuple[Callable[..., Any], int]] = {
    "sign-in page": (_sign_in_page, 200),
    "dashboard": (_dashboard, 200),
    "404 page": (_not_found, 404),
    "403 CSRF failure": (_csrf_failure, 403),
    "503 server unreachable": (_unreachable, 503),
    "500 panel error": (_server_error, 500),
    "static file": (_static_file, 200),
    "audit page": (_audit_page, 200),
    "audit export": (_audit_export, 200),
}


@pytest.mark.parametrize("kind", RESPONSES)
def test_every_kind_of_response_carries_the_security_headers(
    kind: str,
    client: Client,
    settings: DjangoSettings,
    production_headers: None,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
) -> None:
    fetch, status = RESPONSES[kind]
    response = fetch(client, user=pymap_user, settings=settings)
    assert response.status_code == status
    assert_hardened(response)
    hsts = response["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains; preload"


def test_plain_http_is_redirected_to_https(settings: DjangoSettings, client: Client) -> None:
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(SIGN_IN)
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_sign_in_page_is_never_cached(client: Client) -> None:
    assert "no-store" in client.get(SIGN_IN)["Cache-Control"]


# --- templates a strict CSP can serve -----------------------------------------

INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _templates() -> list[Path]:
    found = sorted((ROOT / "templates").rglob("*.html"))
    found += sorted((ROOT / "adminpanel").rglob("templates/**/*.html"))
    return found


def test_no_template_has_inline_script_or_style() -> None:
    templates = _templates()
    assert len(templates) >= 5  # the walk found the templates
    problems = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert problems == []


def test_the_inline_detector_recognises_what_it_must_refuse() -> None:
    samples = {
        "inline script": "<script>alert(1)</script>",
        "style element": "<style>p{}</style>",
        "style attribute": '<p style="color:red">',
        "event handler attribute": '<img src="x" onerror="alert(1)">',
        "javascript: URL": '<a href="javascript:alert(1)">',
    }
    for what, sample in samples.items():
        assert INLINE[what].search(sample), what
    assert not INLINE["inline script"].search('<script src="/static/panel/app.js" defer></script>')
