"""Signing a test client in through the panel's own sign-in form."""

from __future__ import annotations

from typing import Any

from django.test import Client

from adminpanel.accounts.session import Operator, from_stored, stored_operators

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
    operator = from_stored(client.session[operator_entry(client.session)])
    assert operator is not None, "no signed-in operator in this session"
    return operator


def operator_entry(session: Any) -> str:
    """The session key of the one server ``session`` is signed in to."""
    keys = [f"operator:{name}" for name in stored_operators(dict(session.items()))]
    assert len(keys) == 1, f"signed in to {len(keys)} servers, not one"
    return keys[0]


def signed_in_anywhere(session: Any) -> bool:
    """Whether ``session`` holds a sign-in to any server."""
    return bool(stored_operators(dict(session.items())))
