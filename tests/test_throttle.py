"""Throttled sign-in (ASVS 2.2.1): counted before any RPC, per address and per
user name, in the database, with a sliding window and no permanent lock-out.

A scripted fake pymap counts the RPCs (a real one cannot say how often it was
asked); one test runs the same story against the real server.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from grpclib.const import Status
from pymacaroons import Macaroon
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts import throttle
from adminpanel.accounts.models import FailedSignIn
from adminpanel.audit.models import THROTTLED, Action, AuditEvent
from adminpanel.pymap.generated import admin_pb2
from adminpanel.pymap.servers import PymapServer

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.panel_client import SIGN_IN, signed_in_anywhere
from .support.pymap_users import MakeUser

pytestmark = pytest.mark.django_db

RIGHT_PASSWORD = "the-right-password"
ADDRESS = "203.0.113.7"  # documentation range: only ever a string here
OTHER_ADDRESS = "203.0.113.8"


@pytest.fixture
def limits(settings: DjangoSettings) -> None:
    settings.PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS = 3
    settings.PANEL_SIGN_IN_LIMIT_PER_USER = 3
    settings.PANEL_SIGN_IN_LIMIT_PER_ADDRESS = 5
    settings.PANEL_SIGN_IN_WINDOW_SECONDS = 900


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, settings: DjangoSettings) -> Recorder:
    """A pymap that accepts RIGHT_PASSWORD for anyone and refuses the rest."""
    recorder = Recorder()
    settings.PYMAP_SERVER = fake_pymap.install(monkeypatch, recorder)

    def login(request: Any) -> admin_pb2.LoginResponse:
        if request.secret != RIGHT_PASSWORD:
            return admin_pb2.LoginResponse(
                result=fake_pymap.failure("InvalidAuth", b"Login NO Invalid credentials.")
            )
        return admin_pb2.LoginResponse(bearer_token=login_token(request.authcid))

    recorder.behaviour["Login"] = login
    recorder.behaviour["GetUser"] = lambda request: admin_pb2.UserResponse(
        user=request.user, entity_tag=1
    )
    return recorder


def login_token(user: str) -> str:
    macaroon = Macaroon(location="", identifier=uuid.uuid4().hex, key=b"fake server key")
    macaroon.add_first_party_caveat(f"authcid = {user}")
    serialized: str = macaroon.serialize()
    return serialized


def rpcs(recorder: Recorder) -> list[str]:
    return [name for name, _request, _metadata in recorder.requests]


def attempt(client: Client, user: str, password: str, address: str = ADDRESS, **meta: str) -> Any:
    data = {"method": "password", "username": user, "password": password}
    environ: dict[str, Any] = {"REMOTE_ADDR": address, **meta}
    return client.post(SIGN_IN, data, **environ)


def paste(client: Client, token: str, address: str = ADDRESS) -> Any:
    return client.post(SIGN_IN, {"method": "token", "token": token}, REMOTE_ADDR=address)


def assert_throttled(response: Any) -> int:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 900
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert 'role="alert"' in html
    return retry_after


def test_past_the_user_limit_the_answer_is_429_and_pymap_is_not_asked(
    client: Client, limits: None, fake: Recorder
) -> None:
    for _ in range(3):
        assert attempt(client, "alice", "guess").status_code == 200
    assert rpcs(fake) == ["Login"] * 3
    assert_throttled(attempt(client, "alice", "guess"))
    # Not even the right password gets through, and nothing reaches pymap.
    assert_throttled(attempt(client, "alice", RIGHT_PASSWORD))
    assert rpcs(fake) == ["Login"] * 3
    assert not signed_in_anywhere(client.session)


def test_the_address_limit_counts_across_user_names(
    client: Client, limits: None, fake: Recorder
) -> None:
    for number in range(5):
        assert attempt(client, f"user{number}", "guess").status_code == 200
    assert_throttled(attempt(client, "someone-new", RIGHT_PASSWORD))
    assert len(rpcs(fake)) == 5
    # Another address is not affected.
    assert attempt(client, "someone-new", RIGHT_PASSWORD, OTHER_ADDRESS).status_code == 302


def test_the_user_limit_holds_from_any_address(
    client: Client, limits: None, fake: Recorder
) -> None:
    for number in range(3):
        attempt(client, "alice", "guess", f"198.51.100.{number + 1}")
    assert_throttled(attempt(client, "alice", "guess", OTHER_ADDRESS))
    # Other users from the same address still get in.
    assert attempt(client, "bob", RIGHT_PASSWORD, OTHER_ADDRESS).status_code == 302


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(
    client: Client, fake: Recorder
) -> None:
    """With the default limits: ten wrong passwords from one address, which
    anyone who knows an operator's name can send, block only that address."""
    for _ in range(10):
        assert attempt(client, "alice", "guess").status_code == 200
    assert_throttled(attempt(client, "alice", RIGHT_PASSWORD))
    assert attempt(client, "alice", RIGHT_PASSWORD, OTHER_ADDRESS).status_code == 302
    # Other users from the blocked address are not affected either.
    assert attempt(Client(), "bob", RIGHT_PASSWORD).status_code == 302


@pytest.fixture
def ceiling(settings: DjangoSettings) -> None:
    settings.PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS = 2
    settings.PANEL_SIGN_IN_LIMIT_PER_USER = 6
    settings.PANEL_SIGN_IN_LIMIT_PER_ADDRESS = 50


def test_the_per_user_ceiling_holds_across_addresses(
    client: Client, ceiling: None, fake: Recorder
) -> None:
    """Guessing from many addresses still meets a limit for the user name."""
    for number in range(3):
        for _ in range(2):
            attempt(client, "alice", "guess", f"198.51.100.{number + 1}")
        assert_throttled(attempt(client, "alice", "guess", f"198.51.100.{number + 1}"))
    assert len(rpcs(fake)) == 6
    assert_throttled(attempt(client, "alice", RIGHT_PASSWORD, OTHER_ADDRESS))
    assert len(rpcs(fake)) == 6


def test_a_forged_x_forwarded_for_neither_resets_nor_evades_the_limit(
    client: Client, limits: None, fake: Recorder
) -> None:
    # No proxy is configured: the header is the client's own invention.
    for number in range(5):
        attempt(client, f"user{number}", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert_throttled(
        attempt(client, "fresh", RIGHT_PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200, 192.0.2.201")
    )
    assert len(rpcs(fake)) == 5


def test_behind_a_trusted_proxy_only_the_proxys_entry_counts(
    client: Client, settings: DjangoSettings, limits: None, fake: Recorder
) -> None:
    settings.PANEL_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.PANEL_TRUSTED_PROXIES = 1
    proxy = "127.0.0.1"
    for number in range(5):
        # The client wrote the first entry; the proxy appended the real address.
        forwarded = f"192.0.2.{number}, {ADDRESS}"
        attempt(client, f"user{number}", "guess", proxy, HTTP_X_FORWARDED_FOR=forwarded)
    assert_throttled(
        attempt(client, "fresh", "guess", proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.99, {ADDRESS}")
    )
    assert set(FailedSignIn.objects.values_list("client_address", flat=True)) == {ADDRESS}
    # A different real client behind the same proxy is not affected.
    other = attempt(
        client, "fresh", RIGHT_PASSWORD, proxy, HTTP_X_FORWARDED_FOR=f"{ADDRESS}, {OTHER_ADDRESS}"
    )
    assert other.status_code == 302


def test_token_sign_ins_count_per_address_and_per_claimed_user(
    client: Client, limits: None, fake: Recorder
) -> None:
    # A login token the server does not accept, claiming to be alice's.
    fake.behaviour["GetUser"] = lambda request: admin_pb2.UserResponse(
        result=fake_pymap.failure("InvalidAuth")
    )
    for _ in range(3):
        assert paste(client, login_token("alice")).status_code == 200
    assert_throttled(attempt(client, "alice", RIGHT_PASSWORD, OTHER_ADDRESS))
    # Malformed tokens claim no one and count per address.
    paste(client, "not-a-token")
    paste(client, "still-not-a-token")
    assert_throttled(paste(client, login_token("bob")))
    assert FailedSignIn.objects.filter(user_name="", client_address=ADDRESS).count() == 2


def test_successful_sign_ins_do_not_count(client: Client, limits: None, fake: Recorder) -> None:
    for _ in range(6):
        assert attempt(Client(), "alice", RIGHT_PASSWORD).status_code == 302
    assert not FailedSignIn.objects.exists()


def test_an_unreachable_server_does_not_count(
    client: Client, limits: None, settings: DjangoSettings
) -> None:
    settings.PYMAP_SERVER = PymapServer(name="gone", path="/nonexistent/pymap-admin.sock")
    for _ in range(4):
        assert attempt(client, "alice", "guess").status_code == 503
    assert not FailedSignIn.objects.exists()


def test_a_server_that_does_not_answer_does_not_count(
    client: Client, limits: None, fake: Recorder
) -> None:
    fake.behaviour["Login"] = fake_pymap.hang
    assert attempt(client, "alice", "guess").status_code == 504
    assert not FailedSignIn.objects.exists()


def test_a_server_fault_still_counts(client: Client, limits: None, fake: Recorder) -> None:
    # pymap was asked about these credentials and failed; an attacker who found
    # inputs that make it fail must not get unlimited tries.
    fake.behaviour["Login"] = fake_pymap.grpc_error(Status.UNKNOWN, "Internal Server Error")
    for _ in range(3):
        assert attempt(client, "alice", "guess").status_code == 502
    assert_throttled(attempt(client, "alice", "guess"))
    assert rpcs(fake) == ["Login"] * 3


def test_invalid_forms_count_nothing_and_ask_nothing(
    client: Client, limits: None, fake: Recorder
) -> None:
    for _ in range(6):
        assert attempt(client, "alice", "").status_code == 400
    assert rpcs(fake) == []
    assert not FailedSignIn.objects.exists()


def _seed(count: int, age: timedelta, **fields: str) -> None:
    """Failures on the panel's server (each server counts its own)."""
    at = timezone.now() - age
    fields.setdefault("server", settings.PYMAP_SERVER.name)
    FailedSignIn.objects.bulk_create(FailedSignIn(at=at, **fields) for _ in range(count))


def test_failures_older_than_the_window_no_longer_count(
    client: Client, limits: None, fake: Recorder
) -> None:
    # No permanent lock-out: yesterday's attack does not block today.
    _seed(10, timedelta(seconds=901), user_name="alice", client_address=ADDRESS)
    assert attempt(client, "alice", RIGHT_PASSWORD).status_code == 302
    # ...and the old rows are pruned.
    assert not FailedSignIn.objects.exists()


def test_retry_after_says_when_the_oldest_failure_leaves_the_window(
    client: Client, limits: None, fake: Recorder
) -> None:
    _seed(3, timedelta(seconds=900 - 120), user_name="alice", client_address=OTHER_ADDRESS)
    retry_after = assert_throttled(attempt(client, "alice", RIGHT_PASSWORD))
    assert retry_after <= 120
    assert (
        "Try again in 2 minutes"
        in client.post(
            SIGN_IN,
            {"method": "password", "username": "alice", "password": "x"},
            REMOTE_ADDR=ADDRESS,
        ).content.decode()
    )


def test_the_window_slides_exactly(limits: None) -> None:
    start = timezone.now()
    for offset in (0, 10, 20):
        throttle.begin("default", ADDRESS, "alice", now=start + timedelta(seconds=offset))
    with pytest.raises(throttle.SignInThrottled) as caught:
        throttle.begin("default", OTHER_ADDRESS, "alice", now=start + timedelta(seconds=30))
    # The first failure (at 0) leaves the 900 s window at 900.
    assert caught.value.retry_after == 870
    # It is refused without being counted, and allowed once the window moved.
    assert FailedSignIn.objects.filter(user_name="alice").count() == 3
    throttle.begin("default", OTHER_ADDRESS, "alice", now=start + timedelta(seconds=901))


def test_counters_are_shared_through_the_database(
    client: Client, limits: None, fake: Recorder
) -> None:
    # Failures recorded by "another instance" (rows written directly) count here.
    _seed(3, timedelta(seconds=5), user_name="alice", client_address=OTHER_ADDRESS)
    assert_throttled(attempt(client, "alice", RIGHT_PASSWORD))
    assert rpcs(fake) == []


def test_throttled_attempts_are_audited(client: Client, limits: None, fake: Recorder) -> None:
    for _ in range(4):
        attempt(client, "alice", "guess-" + "x" * 12)
    events = list(AuditEvent.objects.filter(action=Action.SIGN_IN).order_by("id"))
    assert [e.outcome for e in events] == ["InvalidAuth"] * 3 + [THROTTLED]
    throttled = events[-1]
    assert throttled.operator == "alice"
    assert throttled.client_address == ADDRESS
    assert "guess-" not in repr(throttled.__dict__)


def test_on_real_pymap_a_blocked_address_does_not_block_the_operator(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    for _ in range(10):
        assert "was not accepted" in attempt(client, user.name, "wrong").content.decode()
    assert_throttled(attempt(client, user.name, user.password))
    assert attempt(Client(), user.name, user.password, OTHER_ADDRESS).status_code == 302


def test_real_pymap_is_not_asked_past_the_limit(
    client: Client,
    settings: DjangoSettings,
    limits: None,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
) -> None:
    user = pymap_user()
    for _ in range(3):
        response = attempt(client, user.name, "wrong-password")
        assert "was not accepted" in response.content.decode()
    assert_throttled(attempt(client, user.name, user.password))
    assert not signed_in_anywhere(client.session)
    # The right password works from a fresh window (the sliding part).
    FailedSignIn.objects.update(at=timezone.now() - timedelta(seconds=901))
    assert attempt(client, user.name, user.password).status_code == 302
