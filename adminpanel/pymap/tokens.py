"""Reading and narrowing pymap's macaroon tokens on the panel's side.

No key is needed for either: a macaroon's caveats are readable by its holder,
and any holder may add a first-party caveat to narrow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymacaroons import Macaroon

from .results import ADMIN_ROLE


class MalformedToken(ValueError):
    """The text is not a serialized macaroon."""


@dataclass(frozen=True)
class TokenInfo:
    """What a token says about itself (unverified until the server accepts it)."""

    is_admin_token: bool
    authcid: str | None
    authzid: str | None
    #: The macaroon's identifier: pymap's key for the token (empty for the
    #: admin token; the user's name on redis, a random hex id elsewhere).
    identifier: str = ""


def inspect_token(token: str) -> TokenInfo:
    """Classify a pasted token: pymap's admin token or a user's login token."""
    try:
        macaroon = Macaroon.deserialize(token.strip())
        caveats = [caveat.caveat_id for caveat in macaroon.first_party_caveats()]
        identifier = str(macaroon.identifier)
    except Exception as exc:
        # pymacaroons raises whatever its parser trips over on garbage
        # (struct.error, binascii.Error, IndexError...): all mean "not a token".
        raise MalformedToken("not a macaroon") from exc
    values: dict[str, str] = {}
    for caveat in caveats:
        key, sep, value = str(caveat).partition(" = ")
        if sep:
            values[key] = value
    is_admin = values.get("role") == ADMIN_ROLE
    authcid = values.get("authcid")
    if not is_admin and authcid is None:
        raise MalformedToken("neither an admin token nor a login token")
    return TokenInfo(
        is_admin_token=is_admin,
        authcid=authcid,
        authzid=values.get("authzid"),
        identifier=identifier,
    )


def attenuate_until(token: str, expires_at: datetime) -> str:
    """Add a ``time < ...`` caveat so the token dies with the panel session.

    The timestamp must carry its timezone: pymap compares it with an aware
    ``datetime.now(timezone.utc)`` and fails on a naive one.
    """
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    macaroon = Macaroon.deserialize(token.strip())
    macaroon.add_first_party_caveat(f"time < {expires_at.isoformat()}")
    serialized: str = macaroon.serialize()
    return serialized
