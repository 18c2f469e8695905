"""Signing a test client in through the panel's own sign-in form."""

from __future__ import annotations

from typing import Any

from django.test import Client

from adminpanel.accounts.session import SESSION_KEY, Operator, from_stored

from .pymap_users import PymapUser

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


def session_operator(client: Client) -> Operator:
    """The operator ``client``'s session holds, its token unsealed."""
    operator = from_stored(client.session[SESSION_KEY])
    assert operator is not None, "no signed-in operator in this session"
    return operator
