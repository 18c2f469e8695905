"""Helpers for the second-factor tests: enrolling an authenticator app
through the panel's pages, and codes computed with pyotp as an app would."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pyotp
from django.test import Client

from .panel_client import SIGN_IN

FACTORS = "/second-factor/"
ADD_TOTP = "/second-factor/add/app/"
VERIFY = "/second-factor/verify/"
RECOVERY_CODES = "/second-factor/recovery-codes/"
OTHERS = "/second-factor/others/"
REMOVE_OTHERS = "/second-factor/others/remove/"

_SECRET = re.compile(r"<code data-totp-secret>([A-Z2-7]+)</code>")
_CODE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The code an app shows ``offset_steps`` time steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def recovery_codes(page: str) -> list[str]:
    return _CODE.findall(page)


def enrol_totp(client: Client, name: str = "phone") -> tuple[str, list[str]]:
    """Enrol an authenticator app for the signed-in ``client``; returns the
    secret and the recovery codes shown (empty if it was not the first factor)."""
    form = client.get(ADD_TOTP)
    assert form.status_code == 200, form.content.decode()[:2000]
    match = _SECRET.search(form.content.decode())
    assert match is not None, "no secret on the enrolment page"
    secret = match.group(1)
    added = client.post(ADD_TOTP, {"name": name, "code": code_at(secret)})
    assert added.status_code in (200, 302), added.content.decode()[:2000]
    return secret, recovery_codes(added.content.decode()) if added.status_code == 200 else []


def password_sign_in(client: Client, name: str, password: str) -> Any:
    """The first step only: what the sign-in form answers."""
    return client.post(SIGN_IN, {"method": "password", "username": name, "password": password})


def page_text(response: Any) -> str:
    text: str = html.unescape(response.content.decode())
    return text
