"""Helpers for the user-page tests: signing in, building form posts, reading pages."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping
from typing import Any

from django.test import Client

from adminpanel.accounts.session import SESSION_KEY, Operator, to_stored
from adminpanel.pymap import channels
from adminpanel.pymap.generated.admin_grpc import UserStub
from adminpanel.pymap.generated.admin_pb2 import GetUserRequest
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.service import CLIENT_VERSION
from adminpanel.users.links import user_url

from .conftest import MakeUser, PymapUser
from .panel_client import sign_in as sign_in  # re-exported for the user tests

__all__ = [
    "edit_post",
    "fake_session",
    "hidden",
    "page",
    "params_post",
    "raw_password_hash",
    "sign_in",
    "signed_in_admin",
    "user_url",
]


def signed_in_admin(client: Client, pymap_user: MakeUser) -> PymapUser:
    admin = pymap_user("operator", roles=["admin"])
    sign_in(client, admin)
    return admin


def fake_session(client: Client, server: PymapServer, *, name: str | None, admin: bool) -> None:
    """A signed-in session without a sign-in RPC, for tests against the fake."""
    now = time.time()
    operator = Operator(
        token="fake-token",
        name=name,
        is_admin=admin,
        server=server.name,
        signed_in_at=now,
        expires_at=now + 3600,
        last_seen=now,
        powers_checked_at=now,  # as a sign-in leaves it
    )
    session = client.session
    session[SESSION_KEY] = to_stored(operator)
    session.save()


def page(response: Any) -> str:
    text: str = response.content.decode()
    return text


def hidden(text: str, name: str) -> str:
    """The value of the first hidden input called ``name`` on the page."""
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', text)
    assert match is not None, f"no hidden {name} on the page"
    return html.unescape(match.group(1))


def params_post(params: Mapping[str, str], *, extra_rows: int = 0) -> dict[str, str]:
    """A params formset as a browser submits it."""
    data = {
        "params-TOTAL_FORMS": str(len(params) + extra_rows),
        "params-INITIAL_FORMS": "0",
        "params-MIN_NUM_FORMS": "0",
        "params-MAX_NUM_FORMS": "100",
    }
    for index, (key, value) in enumerate(params.items()):
        data[f"params-{index}-key"] = key
        data[f"params-{index}-value"] = value
    for index in range(len(params), len(params) + extra_rows):
        data[f"params-{index}-key"] = ""
        data[f"params-{index}-value"] = ""
    return data


def edit_post(
    form_page: str,
    *,
    roles: tuple[str, ...] = (),
    params: Mapping[str, str] | None = None,
    action: str = "keep",
    current: str = "",
    new: str = "",
) -> dict[str, str]:
    """The edit form of ``form_page`` (its entity tag and base), filled in."""
    data = {
        "entity_tag": hidden(form_page, "entity_tag"),
        "base": hidden(form_page, "base"),
        "other_roles": "\n".join(role for role in roles if role != "admin"),
        "password_action": action,
        "current_password": current,
        "new_password1": new,
        "new_password2": new,
        **params_post(params or {}),
    }
    if "admin" in roles:
        data["is_admin"] = "on"
    return data


async def _raw_get_user_password(server: PymapServer, token: str, name: str) -> str:
    channel = await channels.get(server)
    response = await UserStub(channel).GetUser(
        GetUserRequest(user=name),
        metadata={"client-version": CLIENT_VERSION, "auth-token": token},
        timeout=server.timeout,
    )
    password: str = response.data.password
    return password


def raw_password_hash(server: PymapServer, token: str, name: str) -> str:
    """The stored hash, read past service.get_user (which never returns it)."""
    return channels.run(_raw_get_user_password, server, token, name)
