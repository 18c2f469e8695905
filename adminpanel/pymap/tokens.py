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


# --- the token pages: reading every caveat, and narrowing --------------------------

#: The two caveats pymap verifies (pymap/token/macaroon.py); any other makes
#: the token invalid.
TIME_CAVEAT = "time < "
AUTHZID_CAVEAT = "authzid = "
#: An HMAC-SHA256 signature.
SIGNATURE_BYTES = 32


@dataclass(frozen=True)
class TokenDetails:
    """What a token says about itself, for the inspect page; never its signature."""

    identifier: str
    location: str
    caveats: tuple[str, ...]
    is_admin_token: bool
    authcid: str | None
    #: Every ``authzid =`` value (more than one different: usable for nobody).
    authzids: tuple[str, ...]
    #: The earliest ``time <`` (the one that counts), or None.
    expires_at: datetime | None
    #: Caveats pymap cannot verify: with any, pymap refuses the token.
    problems: tuple[str, ...]
    third_party_caveats: int = 0

    @property
    def authzid(self) -> str | None:
        return self.authzids[0] if len(set(self.authzids)) == 1 else None


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def read_token(token: str) -> TokenDetails:
    """Every caveat of a pasted macaroon, classified as pymap reads it.

    Raises :class:`MalformedToken` for text that is not a macaroon.
    """
    text = token.strip()
    if not text:
        raise MalformedToken("empty")
    try:
        macaroon = Macaroon.deserialize(text)
        caveats = tuple(str(c.caveat_id) for c in macaroon.first_party_caveats())
        third_party = len(macaroon.third_party_caveats())
        identifier = str(macaroon.identifier)
        location = str(macaroon.location or "")
        # A cut-off paste still parses; its signature is then short.
        whole = len(bytes.fromhex(str(macaroon.signature))) == SIGNATURE_BYTES
    except Exception as exc:
        raise MalformedToken("not a macaroon") from exc
    if not whole:
        raise MalformedToken("cut off: the signature is incomplete")
    authcid: str | None = None
    is_admin = False
    authzids: list[str] = []
    expiries: list[datetime] = []
    problems: list[str] = []
    for caveat in caveats:
        if caveat == f"role = {ADMIN_ROLE}":
            is_admin = True
        elif caveat.startswith("authcid = "):
            authcid = caveat.removeprefix("authcid = ")
        elif caveat.startswith(AUTHZID_CAVEAT):
            authzids.append(caveat.removeprefix(AUTHZID_CAVEAT))
        elif caveat.startswith(TIME_CAVEAT):
            when = _parse_time(caveat.removeprefix(TIME_CAVEAT))
            if when is None:
                problems.append(f"{caveat!r}: not a timestamp pymap can read")
            elif when.tzinfo is None:
                problems.append(
                    f"{caveat!r}: a timestamp without a time zone, which makes pymap fail "
                    "with an internal error (as pymap-admin --expiration writes it)"
                )
            else:
                expiries.append(when)
        else:
            problems.append(f"{caveat!r}: a caveat pymap does not know")
    if third_party:
        problems.append(f"{third_party} third-party caveat(s), which pymap does not verify")
    if not is_admin and authcid is None:
        problems.append("neither an admin token (role = admin) nor a login token (authcid =)")
    if len(set(authzids)) > 1:
        problems.append("several different authzid caveats: no user satisfies them all")
    return TokenDetails(
        identifier=identifier,
        location=location,
        caveats=caveats,
        is_admin_token=is_admin,
        authcid=authcid,
        authzids=tuple(authzids),
        expires_at=min(expiries) if expiries else None,
        problems=tuple(problems),
        third_party_caveats=third_party,
    )


class NarrowingRefused(ValueError):
    """The caveat asked for would not narrow the token; ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def narrowing_caveats(
    details: TokenDetails, *, until: datetime | None, authzid: str | None
) -> list[str]:
    """The caveats to add for a shorter life and/or one user; raises
    :class:`NarrowingRefused` for what would widen, repeat or void the token.

    Caveats only ever restrict: a later ``time <`` than one the token has would
    change nothing (the earliest counts), so it is refused rather than shown as
    if it extended the token.
    """
    added: list[str] = []
    if until is not None:
        if until.tzinfo is None:
            raise ValueError("until must be timezone-aware")
        if details.expires_at is not None and until >= details.expires_at:
            raise NarrowingRefused(
                "until",
                f"The token already expires at {details.expires_at.isoformat()}: a later "
                "expiry has no effect (a caveat can only shorten a token's life, never extend "
                "it). Choose an earlier time.",
            )
        added.append(f"{TIME_CAVEAT}{until.isoformat()}")
    if authzid:
        if details.authzids and set(details.authzids) == {authzid}:
            raise NarrowingRefused(
                "authzid", f"The token is already limited to {authzid!r}: nothing to add."
            )
        if details.authzids:
            raise NarrowingRefused(
                "authzid",
                f"The token is already limited to {details.authzids[0]!r}: a second user "
                "would make it good for nobody, never for both.",
            )
        added.append(f"{AUTHZID_CAVEAT}{authzid}")
    if not added:
        raise NarrowingRefused("", "Give an earlier expiry, a user to limit it to, or both.")
    return added


def add_caveats(token: str, caveats: list[str]) -> str:
    """The token with ``caveats`` added (no key needed)."""
    macaroon = Macaroon.deserialize(token.strip())
    for caveat in caveats:
        macaroon.add_first_party_caveat(caveat)
    serialized: str = macaroon.serialize()
    return serialized
