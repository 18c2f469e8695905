"""Django's deployment checklist, run the way production starts the panel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "test-deploy-0f8c2b7a9d6e4f1a3c5b7d9e1f2a4c6b8d0e2f4a6c8b0d2e-not-real",
    "DJANGO_ALLOWED_HOSTS": "panel.example.org",
}


def _run(args: list[str], extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only what production would set: none of the test run's DJANGO_* values.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PANEL_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **extra_env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], extra_env)


def test_check_deploy_passes_with_production_settings() -> None:
    result = check_deploy(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_a_weakened_setting() -> None:
    # Proof that the check above would notice: HSTS switched off fails it.
    result = check_deploy({**PRODUCTION_ENV, "DJANGO_HSTS_SECONDS": "0"})
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_production_cookie_and_header_settings() -> None:
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY",
        "X_FRAME_OPTIONS",
        "PANEL_SESSION_IDLE_SECONDS",
        "PANEL_SESSION_ABSOLUTE_SECONDS",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
    ]
    script = (
        "import json, adminpanel.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    result = _run(["-c", script], PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "PANEL_SESSION_IDLE_SECONDS": 1800,
        "PANEL_SESSION_ABSOLUTE_SECONDS": 43200,
        # Over HTTPS the __Host- prefix: browsers then refuse the cookies
        # unless Secure, for path / and with no Domain.
        "SESSION_COOKIE_NAME": "__Host-pymap_panel_session",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
    }


def test_without_secure_cookies_the_names_have_no_prefix() -> None:
    """Browsers drop a __Host- cookie that is not Secure (plain HTTP on loopback)."""
    script = "import adminpanel.settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME)"
    result = _run(["-c", script], {**PRODUCTION_ENV, "DJANGO_SECURE_COOKIES": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pymap_panel_session", "csrftoken"]
