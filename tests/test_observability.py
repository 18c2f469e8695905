"""Health probes, metrics, request ids and JSON logs, through the test client
against a real pymap (the installed-wheel journey is tests/test_installed_package.py).

docs/operations.md says what each endpoint shows to whom.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.audit.models import Action, AuditEvent
from adminpanel.lib import request_context
from adminpanel.lib.json_logs import JsonFormatter, RequestContextFilter
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import UserFactory

pytestmark = pytest.mark.django_db

UNREACHABLE = PymapServer(name="gone", path="/nonexistent/secret-place/pymap-admin.sock")
METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def body(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.content)
    return data


def test_liveness_answers_without_a_session_and_sets_no_cookie(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/health/live", HTTP_COOKIE="pymap_panel_session=abc")
    assert response.status_code == 200
    assert body(response) == {"status": "alive"}
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.backends("dict")
def test_readiness_says_ready_and_names_no_path_host_or_version(
    client: Client, pymap_server: PymapServer
) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    data = body(response)
    assert data["status"] == "ready"
    assert data["database"] == "ok"
    assert data["servers"] == [{"index": 0, "name": pymap_server.name, "status": "serving"}]
    assert data["task_queue"] == {"waiting": 0, "oldest_waiting_seconds": 0.0}
    text = response.content.decode()
    assert str(pymap_server.path) not in text
    assert "0.36" not in text
    assert "sock" not in text


def test_readiness_is_503_when_a_server_is_unreachable_and_hides_where_it_is(
    client: Client, settings: DjangoSettings
) -> None:
    settings.PYMAP_SERVER = UNREACHABLE
    response = client.get("/health/ready")
    assert response.status_code == 503
    data = body(response)
    assert data["status"] == "not ready"
    assert data["servers"] == [{"index": 0, "name": "gone", "status": "unreachable"}]
    assert "secret-place" not in response.content.decode()


@pytest.mark.backends("dict")
def test_probes_answer_any_host_over_plain_http(
    client: Client, pymap_server: PymapServer, settings: DjangoSettings
) -> None:
    """A load balancer probes the instance's address over HTTP: no redirect to
    HTTPS and no 400 for a Host outside DJANGO_ALLOWED_HOSTS."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["panel.example.org"]
    assert client.get("/health/ready", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/health/live/", HTTP_HOST="10.1.2.3:8000").status_code == 200
    # Every other page still gets both.
    assert client.get(SIGN_IN, HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_probes_take_only_get(client: Client) -> None:
    assert client.post("/health/live").status_code == 405


def test_metrics_are_off_without_a_token(client: Client, settings: DjangoSettings) -> None:
    settings.PANEL_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


@pytest.mark.backends("dict")
def test_metrics_refuse_a_missing_or_wrong_token_and_count_sign_ins_and_rpcs(
    client: Client,
    settings: DjangoSettings,
    pymap_server: PymapServer,
    pymap_user: UserFactory,
) -> None:
    settings.PANEL_METRICS_TOKEN = METRICS_TOKEN
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert b"panel_" not in refused.content + wrong.content

    user = pymap_user("metrics")
    client.post(SIGN_IN, {"method": "password", "username": user.name, "password": "wrong1234"})
    sign_in(client, user)
    client.get("/")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    text = response.content.decode()
    assert _sample(text, 'panel_sign_ins_total{result="succeeded"}') >= 1
    assert _sample(text, 'panel_sign_ins_total{result="refused"}') >= 1
    login = f'panel_pymap_rpcs_total{{code="OK",method="Login",server="{pymap_server.name}"}}'
    assert _sample(text, login) >= 1
    assert 'panel_http_requests_total{method="GET",status="200",view="dashboard:index"}' in text
    assert 'panel_imports{state="finished"}' in text
    assert "panel_task_queue_oldest_waiting_seconds" in text
    assert user.password not in text


def _sample(exposition: str, name_and_labels: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name_and_labels + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name_and_labels} not in the metrics")


def test_a_request_id_sent_is_returned_and_a_forged_one_replaced(client: Client) -> None:
    kept = client.get(SIGN_IN, HTTP_X_REQUEST_ID="lb-1234.abcd")
    assert kept["X-Request-ID"] == "lb-1234.abcd"
    forged = client.get(SIGN_IN, HTTP_X_REQUEST_ID="two\nlines")
    made = client.get(SIGN_IN)
    for response in (forged, made):
        assert len(response["X-Request-ID"]) == 32
    assert forged["X-Request-ID"] != made["X-Request-ID"]


def test_the_request_id_header_is_configurable(client: Client, settings: DjangoSettings) -> None:
    settings.PANEL_REQUEST_ID_HEADER = "X-Trace"
    response = client.get(SIGN_IN, HTTP_X_TRACE="trace-9")
    assert response["X-Trace"] == "trace-9"


@pytest.mark.backends("dict")
def test_the_audit_record_of_a_request_holds_its_id(
    client: Client, pymap_server: PymapServer, pymap_user: UserFactory
) -> None:
    user = pymap_user("rid")
    response = client.post(
        SIGN_IN,
        {"method": "password", "username": user.name, "password": user.password},
        HTTP_X_REQUEST_ID="rid-for-the-sign-in",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "rid-for-the-sign-in"
    event = AuditEvent.objects.get(action=Action.SIGN_IN, identity_name=user.name)
    assert event.request_id == "rid-for-the-sign-in"


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("adminpanel.test", logging.INFO, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_a_json_log_line_is_one_object_with_the_request_context_and_no_token() -> None:
    token = "MDAxY2xvY2F0aW9uIHB5bWFwCjAwMjZpZGVudGlmaWVy" + "A" * 40
    handle = request_context.begin("rid-7")
    try:
        request_context.update(operator="alice", server="main", view="users:detail")
        record = _record('token "%s"\nsecond line', token, status=200, duration=0.0123)
        RequestContextFilter().filter(record)
    finally:
        request_context.end(handle)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == 'token "[redacted]"\nsecond line'
    assert data["request_id"] == "rid-7"
    assert (data["operator"], data["server"], data["view"]) == ("alice", "main", "users:detail")
    assert (data["status"], data["duration"], data["level"]) == (200, 0.0123, "INFO")
    assert data["time"].endswith("+00:00")
    assert token not in line
