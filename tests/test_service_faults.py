"""Faults a real pymap cannot produce on demand, through a scripted fake."""

from __future__ import annotations

from typing import Any

import pytest
from grpclib.const import Status

from adminpanel.pymap import service
from adminpanel.pymap.errors import (
    IncompatibleServer,
    Refused,
    ServerFault,
    ServerTimeout,
    ServerUnavailable,
)
from adminpanel.pymap.generated import admin_pb2

from .support import fake_pymap
from .support.fake_pymap import Recorder


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> Any:
    return fake_pymap.install(monkeypatch, recorder)


def test_hung_server_times_out_after_the_configured_timeout(
    recorder: Recorder, fake_server: Any
) -> None:
    recorder.behaviour["GetUser"] = fake_pymap.hang
    with pytest.raises(ServerTimeout) as caught:
        service.get_user(fake_server, "tok", "alice")
    assert caught.value.status == 504
    assert "0.3 seconds" in caught.value.message


def test_unimplemented_method_is_reported_as_incompatible(
    recorder: Recorder, fake_server: Any
) -> None:
    with pytest.raises(IncompatibleServer) as caught:
        service.delete_user(fake_server, "tok", "alice")
    assert "does not implement" in caught.value.message


def test_incompatible_version_refusal_names_the_client_version(
    recorder: Recorder, fake_server: Any
) -> None:
    recorder.behaviour["Ping"] = fake_pymap.grpc_error(
        Status.FAILED_PRECONDITION, "Incompatible version"
    )
    with pytest.raises(IncompatibleServer) as caught:
        service.ping(fake_server)
    assert service.CLIENT_VERSION in caught.value.message


def test_unknown_result_key_becomes_a_generic_refusal(recorder: Recorder, fake_server: Any) -> None:
    recorder.behaviour["Append"] = lambda request: admin_pb2.AppendResponse(
        result=fake_pymap.failure("QuotaExceededSomehow")
    )
    with pytest.raises(Refused) as caught:
        service.append(fake_server, "tok", "alice", b"Subject: x\r\n\r\n")
    assert caught.value.key == "QuotaExceededSomehow"
    assert "QuotaExceededSomehow" in caught.value.message
    assert caught.value.status == 422


def test_internal_server_error_is_a_server_fault(recorder: Recorder, fake_server: Any) -> None:
    recorder.behaviour["GetUser"] = fake_pymap.grpc_error(Status.UNKNOWN, "Internal Server Error")
    with pytest.raises(ServerFault) as caught:
        service.get_user(fake_server, "tok", "alice")
    assert "UNKNOWN" in caught.value.message


def test_unavailable_status_is_server_unavailable(recorder: Recorder, fake_server: Any) -> None:
    recorder.behaviour["GetUser"] = fake_pymap.grpc_error(Status.UNAVAILABLE, "draining")
    with pytest.raises(ServerUnavailable):
        service.get_user(fake_server, "tok", "alice")


def test_every_call_sends_client_version_and_only_authenticated_calls_the_token(
    recorder: Recorder, fake_server: Any
) -> None:
    recorder.behaviour["Ping"] = lambda request: admin_pb2.PingResponse(
        pymap_version="9", pymap_admin_version="9"
    )
    recorder.behaviour["GetUser"] = lambda request: admin_pb2.UserResponse(
        user=request.user, entity_tag=7, data=admin_pb2.UserData(password="$x$y")
    )
    service.ping(fake_server)
    service.get_user(fake_server, "secret-token", "alice")
    (_, _, ping_md), (_, _, get_md) = recorder.requests
    assert ping_md["client-version"] == service.CLIENT_VERSION
    assert "auth-token" not in ping_md
    assert get_md["client-version"] == service.CLIENT_VERSION
    assert get_md["auth-token"] == "secret-token"


def test_login_never_asks_for_a_token_expiration(recorder: Recorder, fake_server: Any) -> None:
    recorder.behaviour["Login"] = lambda request: admin_pb2.LoginResponse(bearer_token="t")
    assert service.login(fake_server, "alice", password="pw") == "t"
    (_, request, _) = recorder.requests[0]
    assert not request.HasField("token_expiration")


def test_append_without_result_means_discarded_by_filter(
    recorder: Recorder, fake_server: Any
) -> None:
    recorder.behaviour["Append"] = lambda request: admin_pb2.AppendResponse()
    outcome = service.append(fake_server, "tok", "alice", b"Subject: x\r\n\r\n")
    assert outcome.delivered is False
    assert outcome.uid is None


def test_missing_socket_is_server_unavailable() -> None:
    from adminpanel.pymap.servers import PymapServer

    server = PymapServer(name="gone", path="/nonexistent/pymap-admin.sock", timeout=1)
    with pytest.raises(ServerUnavailable) as caught:
        service.ping(server)
    assert caught.value.status == 503


def test_refused_port_is_server_unavailable() -> None:
    import socket

    from adminpanel.pymap.servers import PymapServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = PymapServer(name="gone", host="127.0.0.1", port=port, timeout=1)
    with pytest.raises(ServerUnavailable):
        service.ping(server)


@pytest.mark.django_db
def test_a_server_without_health_still_shows_its_dashboard(
    recorder: Recorder, fake_admin: Any
) -> None:
    """Ping and Health go out together; a failing Health is UNKNOWN, not an error page."""
    recorder.behaviour["Ping"] = lambda request: admin_pb2.PingResponse(
        pymap_version="0.36.7", pymap_admin_version="0.12.1"
    )
    page = fake_admin.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "0.36.7" in html
    assert "UNKNOWN" in html
    badge = fake_admin.get("/health.json").json()
    assert badge["health"] == "UNKNOWN"
    assert badge["error"]
    assert [name for name, *_ in recorder.requests] == ["Ping", "Ping"]
