"""Signing a test client in through the panel's own sign-in form."""

from __future__ import annotations

from typing import Any

from django.test import Client

from .conftest import PymapUser

SIGN_IN = "/accounts/sign-in/"


def sign_in(client: Client, user: PymapUser, *, secure: bool = False, **extra: str) -> Any:
    """Sign ``client`` in as ``user`` (against settings.PYMAP_SERVER)."""
    response = client.post(
        SIGN_IN,
        {"method": "password", "username": user.name, "password": user.password, **extra},
        secure=secure,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response
