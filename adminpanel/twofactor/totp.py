"""Authenticator apps: TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with pyotp,
and the enrolment QR code as inline SVG with segno (no script, no image
fetched from elsewhere)."""

from __future__ import annotations

import hmac
import time

import pyotp
import segno

#: Codes of this many steps before and after now are accepted (clock drift).
DRIFT_STEPS = 1
ISSUER = "pymap admin"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an <svg> element to put in the page."""
    return str(
        segno.make(uri, error="m").svg_inline(
            scale=4, dark="#000", light="#fff", title="QR code of the authenticator app's secret"
        )
    )


def normalised(code: str) -> str:
    return "".join(code.split())


def matching_step(
    secret: str, code: str, *, after: int = 0, now: float | None = None
) -> int | None:
    """The time step whose code ``code`` is (within the drift), if later than
    ``after``; None if it is none of them or only an already used one."""
    code = normalised(code)
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    otp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // otp.interval)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after and hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None
