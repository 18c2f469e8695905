"""Reading and narrowing macaroons on the panel's side (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymacaroons import Macaroon

from adminpanel.pymap.tokens import MalformedToken, attenuate_until, inspect_token


def _macaroon(*caveats: str, identifier: str = "") -> str:
    macaroon = Macaroon(location="", identifier=identifier, key=b"k" * 32)
    for caveat in caveats:
        macaroon.add_first_party_caveat(caveat)
    serialized: str = macaroon.serialize()
    return serialized


def test_admin_token_is_recognised() -> None:
    info = inspect_token(_macaroon("role = admin"))
    assert info.is_admin_token
    assert info.authcid is None


def test_login_token_names_its_user() -> None:
    info = inspect_token(_macaroon("authcid = alice", identifier="abc"))
    assert not info.is_admin_token
    assert info.authcid == "alice"


@pytest.mark.parametrize("text", ["", "not a token", "MDAw", _macaroon("colour = blue")])
def test_malformed_tokens_are_refused(text: str) -> None:
    with pytest.raises(MalformedToken):
        inspect_token(text)


def test_attenuation_adds_an_aware_time_caveat() -> None:
    until = datetime.now(UTC) + timedelta(hours=1)
    narrowed = Macaroon.deserialize(attenuate_until(_macaroon("role = admin"), until))
    caveats = [c.caveat_id for c in narrowed.first_party_caveats()]
    assert caveats[-1] == f"time < {until.isoformat()}"
    assert caveats[-1].endswith("+00:00")


def test_attenuation_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone"):
        attenuate_until(_macaroon("role = admin"), datetime.now())  # noqa: DTZ005
