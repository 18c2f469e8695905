"""What an enrolment keeps between showing its page and the operator's
answer, in the (server-side) session, per server: the new TOTP secret
(sealed) and the WebAuthn registration challenge."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

from . import totp

_TOTP = "twofactor:new-totp:"
_CHALLENGE = "twofactor:new-passkey:"


def totp_secret(request: HttpRequest, server: str) -> str:
    """The secret the enrolment page shows: the same until it is enrolled."""
    stored = request.session.get(_TOTP + server)
    if isinstance(stored, str):
        try:
            return unseal(base64.b64decode(stored, validate=True), Purpose.TOTP_SECRET)
        except (UnsealError, binascii.Error):
            pass
    secret = totp.new_secret()
    request.session[_TOTP + server] = base64.b64encode(seal(secret, Purpose.TOTP_SECRET)).decode()
    return secret


def forget_totp(request: HttpRequest, server: str) -> None:
    request.session.pop(_TOTP + server, None)


def keep_challenge(request: HttpRequest, server: str, challenge: bytes) -> None:
    request.session[_CHALLENGE + server] = base64.b64encode(challenge).decode("ascii")


def take_challenge(request: HttpRequest, server: str) -> bytes:
    """The registration challenge, once (b"" if none was kept)."""
    stored = request.session.pop(_CHALLENGE + server, None)
    try:
        return base64.b64decode(stored, validate=True) if isinstance(stored, str) else b""
    except binascii.Error:
        return b""
