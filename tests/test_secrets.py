"""Secrets stay secret (ASVS 7.1.1, 7.1.2, 8.3.1, 14.3.2): no password, token or
hash in pages, URLs, logs, audit records or error reports."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.views.debug import ExceptionReporter
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts import signin
from adminpanel.audit.models import AuditEvent
from adminpanel.lib.redaction import REDACTED, PanelExceptionReporterFilter, RedactingFormatter
from adminpanel.pymap.servers import PymapServer

from .support.error_urls import FAILING_PATH, PanelBug
from .support.logs import everything_logged
from .support.panel_client import SIGN_IN, session_operator, sign_in
from .support.pymap_users import MakeUser, PymapUser
from .support.users import raw_password_hash

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "pymap_panel_session"


def assert_absent(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        assert secret
        for text in texts:
            assert secret not in text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_sign_ins_log_and_audit_no_secret(
    client: Client,
    debug_logs: pytest.LogCaptureFixture,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    admin_token: str,
) -> None:
    user: PymapUser = pymap_user()
    wrong_password = "Wrong-Password-4f1d9"
    bad_token = admin_token[:-6] + "AAAAAA"
    client.post(SIGN_IN, {"method": "password", "username": user.name, "password": wrong_password})
    client.post(SIGN_IN, {"method": "token", "token": bad_token})
    sign_in(client, user)
    session_token = session_operator(client).token
    pages = [client.get(url) for url in ("/", "/audit/")]
    Client().post(SIGN_IN, {"method": "token", "token": admin_token})
    stored_hash = raw_password_hash(pymap_server, admin_token, user.name)
    assert stored_hash.startswith("$")
    secrets = [
        user.password,
        wrong_password,
        bad_token,
        admin_token,
        session_token,
        stored_hash,
    ]
    audit = json.dumps([event.__dict__ for event in AuditEvent.objects.all()], default=str)
    assert AuditEvent.objects.count() == 4
    assert_absent(
        secrets,
        everything_logged(debug_logs),
        audit,
        *(page.content.decode() for page in pages),
    )
    assert "audit:" in everything_logged(debug_logs)  # the logs were captured


def test_a_failed_sign_in_echoes_neither_password_nor_token(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    user = pymap_user()
    sent = {
        "method": "token",
        "username": user.name,
        "password": "Typed-But-Unused-77",
        "token": admin_token[:-4] + "AAAA",
    }
    response = client.post(SIGN_IN, sent)
    html = response.content.decode()
    assert "was not accepted" in html
    assert user.name in html  # the user name may come back; the secrets not
    assert_absent([sent["password"], sent["token"]], html)
    assert 'name="password" autocomplete="current-password"' in html  # empty field


def _failing_request(
    client: Client, settings: DjangoSettings, caplog: pytest.LogCaptureFixture, **post: str
) -> tuple[logging.LogRecord, Any]:
    settings.ROOT_URLCONF = "tests.support.error_urls"
    client.raise_request_exception = False
    response = client.post(FAILING_PATH, post) if post else client.get(FAILING_PATH)
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    return record, response


def _reports(record: logging.LogRecord) -> tuple[str, str]:
    """The error report Django would mail or show, built from the logged record."""
    assert record.exc_info is not None
    request = getattr(record, "request", None)
    reporter = ExceptionReporter(request, *record.exc_info)
    assert isinstance(reporter.filter, PanelExceptionReporterFilter)
    return reporter.get_traceback_text(), reporter.get_traceback_html()


def test_a_panel_error_reports_no_token_or_password(
    client: Client,
    settings: DjangoSettings,
    debug_logs: pytest.LogCaptureFixture,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
) -> None:
    user = pymap_user()
    sign_in(client, user)
    session_token = session_operator(client).token
    cookie = client.cookies[COOKIE].value
    posted_password = "Posted-Password-93kd"
    record, response = _failing_request(
        client, settings, debug_logs, new_password=posted_password, note="visible"
    )
    text, html = _reports(record)
    assert "failing_view" in text
    assert "PanelBug" in text
    assert "visible" in text  # ordinary POST fields are kept
    assert_absent(
        [session_token, cookie, posted_password, user.password],
        text,
        html,
        everything_logged(debug_logs),
        response.content.decode(),
    )
    assert "Traceback" not in response.content.decode()


def test_a_crash_during_sign_in_reports_no_password(
    client: Client,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
) -> None:
    user = pymap_user()
    real = signin.with_password

    def crash_after_login(server: PymapServer, username: str, password: str, act_as: Any) -> Any:
        signed_in = real(server, username, password, act_as)
        raise PanelBug(f"crashed after signing in {signed_in.operator.name}")

    monkeypatch.setattr(signin, "with_password", crash_after_login)
    client.raise_request_exception = False
    response = client.post(
        SIGN_IN, {"method": "password", "username": user.name, "password": user.password}
    )
    assert response.status_code == 500
    [record] = [r for r in debug_logs.records if r.name == "django.request" and r.exc_info]
    text, html = _reports(record)
    assert "crash_after_login" in text
    assert_absent([user.password], text, html, everything_logged(debug_logs))


def test_the_redacting_formatter_hides_tokens_and_hashes_in_messages_and_tracebacks() -> None:
    token = "MDAwZWxvY2F0aW9uIAowMDEwaWRlbnRpZmllciAKMDAxNWNpZCByb2xlID0gYWRtaW4K"
    digest = "$pbkdf2-sha256$29000$N2bM2TtnTGkNgfDeG4OwVg$0123456789abcdefABCDEF"
    try:
        raise ValueError(f"bad token {token}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "hash %s", (digest,), None)
        record.exc_info = sys.exc_info()
    line = RedactingFormatter("%(message)s").format(record)
    assert token not in line
    assert digest not in line
    assert line.count(REDACTED) == 2


def test_debug_logging_never_reaches_sql_or_http2_headers() -> None:
    """With PANEL_LOG_LEVEL=DEBUG, SQL parameters (session data) and HTTP/2
    headers (pymap's auth-token) are still not logged."""
    script = (
        "import django, logging, json; django.setup(); "
        "names = ['', 'django.db.backends', 'hpack', 'h2', 'grpclib']; "
        "print(json.dumps({n: logging.getLogger(n).getEffectiveLevel() for n in names}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "PANEL_LOG_LEVEL": "DEBUG", "DJANGO_SETTINGS_MODULE": "adminpanel.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    levels = json.loads(result.stdout)
    assert levels.pop("") == logging.DEBUG
    assert set(levels.values()) == {logging.INFO}
