"""Inspecting and narrowing a pasted token (issue 13, point 2): offline, never
showing the signature or echoing the token, refusing what would widen it; and
on every backend the narrowed token is refused for what it no longer allows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from pymacaroons import Macaroon

from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import read_token
from devtools.pymap_process import PymapProcess

from .support.fake_pymap import Recorder
from .support.panel_client import sign_in
from .support.pymap_users import MakeUser
from .support.tokens import refusal, shown_token, works
from .support.users import page

pytestmark = pytest.mark.django_db

INSPECT = "/tokens/inspect/"


def _macaroon(*caveats: str, identifier: str = "abc123") -> str:
    macaroon = Macaroon(location="", identifier=identifier, key=b"k" * 32)
    for caveat in caveats:
        macaroon.add_first_party_caveat(caveat)
    serialized: str = macaroon.serialize()
    return serialized


def _inspect(client: Client, token: str, **fields: str) -> tuple[int, str]:
    data = {"token": token, "lifetime": "", "unit": "minutes", "act_as": "", **fields}
    response = client.post(INSPECT, data)
    return response.status_code, page(response)


def test_the_admin_token_narrowed_to_one_user_and_seconds_is_refused_for_the_rest(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    target, other = pymap_user("target"), pymap_user("other")
    sign_in(client, pymap_user("viewer"))
    status, text = _inspect(
        client, pymap.admin_token, lifetime="5", unit="seconds", act_as=target.name
    )
    assert status == 200, text[:3000]
    assert "The server's admin token" in text
    narrowed = shown_token(text, "narrowed")
    assert pymap.admin_token not in text, "the pasted token is never shown back"
    for token in (pymap.admin_token, narrowed):
        assert Macaroon.deserialize(token).signature not in text

    details = read_token(narrowed)
    assert details.is_admin_token
    assert details.authzid == target.name
    assert details.expires_at is not None
    assert works(pymap, narrowed, target.name)
    assert "InvalidAuth" in refusal(pymap, narrowed, other.name)
    assert works(pymap, pymap.admin_token, other.name), "the pasted token is unchanged"
    time.sleep(max(0.0, (details.expires_at - datetime.now(UTC)).total_seconds()) + 1.0)
    assert "InvalidAuth" in refusal(pymap, narrowed, target.name)


def test_a_login_token_narrowed_again_keeps_its_earliest_expiry(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("holder")
    sign_in(client, user)
    status, text = _inspect(client, _login_token(pymap, user.name), lifetime="10", unit="minutes")
    narrowed = shown_token(text, "narrowed")
    assert works(pymap, narrowed, user.name)
    status, text = _inspect(client, narrowed, lifetime="1", unit="hours")
    assert status == 400
    assert "a later expiry has no effect" in text
    assert 'id="narrowed-token"' not in text


def _login_token(pymap: PymapProcess, name: str) -> str:
    from adminpanel.pymap import service

    return service.login(pymap.server(), name, token=pymap.admin_token)


# --- offline: against the recording fake, which is never called -----------------


def test_inspecting_makes_no_rpc_and_names_what_the_token_allows(
    fake_admin: Client, recorder: Recorder
) -> None:
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    token = _macaroon("authcid = alice", f"time < {until.isoformat()}")
    status, text = _inspect(fake_admin, token)
    assert status == 200
    assert "A login token of <code>alice</code>" in text
    assert "abc123" in text
    assert f"time &lt; {until.isoformat()}" in text
    assert Macaroon.deserialize(token).signature not in text
    assert token not in text
    assert recorder.requests == []


@pytest.mark.parametrize(
    "text", ["garbage", "MDAw", "a" * 50, _macaroon("colour = blue")[:-10], "%00"]
)
def test_garbled_input_is_a_clear_form_error(fake_admin: Client, text: str) -> None:
    status, body = _inspect(fake_admin, text)
    assert status == 400
    assert "This is not a pymap token" in body


def test_an_empty_paste_is_a_form_error(fake_admin: Client) -> None:
    status, body = _inspect(fake_admin, "   ")
    assert status == 400
    assert "This field is required." in body


def test_a_second_user_would_void_the_token_and_is_refused(fake_admin: Client) -> None:
    status, text = _inspect(fake_admin, _macaroon("role = admin", "authzid = alice"), act_as="bob")
    assert status == 400
    assert "a second user would make it good for nobody" in text
    status, text = _inspect(
        fake_admin, _macaroon("role = admin", "authzid = alice"), act_as="alice"
    )
    assert status == 400
    assert "already limited to &#x27;alice&#x27;: nothing to add" in text


def test_caveats_pymap_cannot_verify_are_named(fake_admin: Client) -> None:
    naive = datetime.now() + timedelta(hours=1)  # noqa: DTZ005  (as token_expiration writes it)
    status, text = _inspect(fake_admin, _macaroon("authcid = alice", f"time < {naive.isoformat()}"))
    assert status == 200
    assert "pymap will refuse this token" in text
    assert "without a time zone" in text
    status, text = _inspect(fake_admin, _macaroon("authcid = alice", "colour = blue"))
    assert "a caveat pymap does not know" in text


def test_a_lifetime_past_the_maximum_is_refused(fake_admin: Client, settings: object) -> None:
    settings.PANEL_TOKEN_MAX_SECONDS = 60  # type: ignore[attr-defined]
    status, text = _inspect(fake_admin, _macaroon("role = admin"), lifetime="2", unit="minutes")
    assert status == 400
    assert "at most 1 minute" in text
