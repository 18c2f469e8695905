"""The second-factor pages without a pending sign-in, the settings they
read, and the pieces that need no server (recovery codes, host names)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.audit.models import AuditEvent
from adminpanel.lib.env import env_choice
from adminpanel.lib.hosts import first_host_name
from adminpanel.twofactor import recovery, totp
from adminpanel.twofactor.models import RecoveryCode

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.panel_client import SIGN_IN
from .support.twofactor import VERIFY, code_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, settings: object) -> Recorder:
    recorder = Recorder()
    settings.PYMAP_SERVER = fake_pymap.install(monkeypatch, recorder)  # type: ignore[attr-defined]
    return recorder


@pytest.mark.parametrize("url", [VERIFY, VERIFY + "passkey/", VERIFY + "cancel/"])
def test_without_a_pending_sign_in_the_second_step_sends_to_sign_in(
    url: str, recorder: Recorder
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(SIGN_IN)
    csrf = client.cookies["csrftoken"].value
    posted = client.post(url, {"csrfmiddlewaretoken": csrf, "code": "123456", "credential": "{}"})
    assert posted.status_code == 302
    assert posted["Location"] == SIGN_IN
    assert posted.content == b""
    assert recorder.requests == []
    assert not AuditEvent.objects.exists()


def test_a_pending_key_that_names_no_pending_sign_in_gets_nothing(
    recorder: Recorder, settings: Any
) -> None:
    client = Client()
    session = client.session
    session[f"twofactor:pending:{settings.PYMAP_SERVER.name}"] = "forged-key"
    session.save()
    response = client.post(VERIFY, {"code": "123456"})
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert "twofactor:pending:" not in "".join(client.session.keys())
    assert recorder.requests == []


def test_the_relying_party_id_is_the_first_host_name() -> None:
    assert first_host_name(["127.0.0.1", "[::1]", "Panel.Example.org", "localhost"]) == (
        "panel.example.org"
    )
    assert first_host_name(["10.0.0.1", "*", ".example.org"]) == "localhost"
    assert first_host_name([]) == "localhost"


def test_the_policy_setting_takes_three_values() -> None:
    assert env_choice("P", "off", ("off", "admins", "everyone"), env={"P": "Admins"}) == "admins"
    with pytest.raises(ImproperlyConfigured, match="must be one of off, admins, everyone"):
        env_choice("P", "off", ("off", "admins", "everyone"), env={"P": "all"})


def test_recovery_codes_read_as_typed() -> None:
    assert recovery.normalised(" ABCD-efgh jkmn ") == "abcdefghjkmn"
    assert recovery.looks_like_code("abcd-efgh-jkmn")
    assert not recovery.looks_like_code("123456")
    assert not recovery.looks_like_code("abcd-efgh-jkm0")  # 0 is not in the alphabet


def test_recovery_codes_keep_the_cost_they_were_made_with(settings: Any) -> None:
    """Raising PANEL_RECOVERY_CODE_COST leaves the codes handed out working;
    the suite makes its codes at 10 (pyproject.toml), production at 14."""
    alice = Identity(IdentityKind.USER, "alice")
    settings.PANEL_RECOVERY_CODE_COST = 10
    first = recovery.new_set("s", alice)
    assert set(RecoveryCode.objects.values_list("cost", flat=True)) == {10}
    settings.PANEL_RECOVERY_CODE_COST = 14
    assert recovery.use("s", alice, first[0])
    assert not recovery.use("s", alice, first[0])  # spent
    assert recovery.use("s", alice, first[1])
    recovery.new_set("s", alice)
    assert set(RecoveryCode.objects.values_list("cost", flat=True)) == {14}
    assert not recovery.use("s", alice, first[2])  # replaced by the new set


def test_totp_steps_within_the_drift_only_and_never_an_earlier_one() -> None:
    secret = totp.new_secret()
    now_step = totp.matching_step(secret, code_at(secret))
    assert now_step is not None
    assert totp.matching_step(secret, code_at(secret, 1)) == now_step + 1
    assert totp.matching_step(secret, code_at(secret, 3)) is None
    assert totp.matching_step(secret, code_at(secret), after=now_step) is None
    assert totp.matching_step(secret, "12 34 5") is None


def test_the_qr_code_is_inline_svg() -> None:
    svg = totp.qr_svg(totp.provisioning_uri(totp.new_secret(), "someone on mail"))
    assert svg.startswith("<svg")
    assert "<script" not in svg
