"""Helpers for the user-page tests: signing in, building form posts, reading pages."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.test import Client

from adminpanel.accounts.session import Operator, operator_key, to_stored
from adminpanel.pymap import channels
from adminpanel.pymap.backends import Backend
from adminpanel.pymap.generated.admin_grpc import UserStub
from adminpanel.pymap.generated.admin_pb2 import GetUserRequest
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.service import CLIENT_VERSION
from adminpanel.servers import knowledge
from adminpanel.users.links import user_url

from .panel_client import SIGN_IN
from .panel_client import sign_in as sign_in  # re-exported for the user tests
from .pymap_users import MakeUser, PymapUser

__all__ = [
    "CREATE",
    "PASSWORD",
    "create_post",
    "edit_post",
    "fake_session",
    "hidden",
    "page",
    "params_post",
    "raw_password_hash",
    "sign_in",
    "signed_in_admin",
    "signed_in_admin_user",
    "unique",
    "user_url",
    "write_session",
]


def signed_in_admin(
    client: Client,
    pymap_user: MakeUser,
    *,
    as_user: PymapUser | None = None,
    through_form: bool = False,
) -> str:
    """Sign ``client`` in as an operator who may act on every user; the name
    the audit log gives it.

    ``as_user`` signs in through the form with that user's password. Without
    it the operator is the session's creator of users: a user with the admin
    role, or on maildir, where only pymap's admin token may act on other
    users, that token. Its session is written directly, with what a sign-in
    learns of the server's backend (signing in is not what such a test is
    about), unless ``through_form`` (the sign-in's own audit event, say).
    """
    if as_user is not None:
        sign_in(client, as_user)
        return as_user.name
    creator = pymap_user.creator
    if through_form and creator.name is None:
        response = client.post(SIGN_IN, {"method": "token", "token": creator.token})
        assert response.status_code == 302, response.content.decode()[:2000]
        return "admin token"
    if through_form:
        return signed_in_admin_user(client, pymap_user).name
    server = pymap_user.pymap.server()
    knowledge.learn(server, frozenset({Backend(pymap_user.backend)}))
    write_session(
        client,
        server,
        token=creator.token,
        name=creator.name,
        admin=True,
        admin_token=creator.name is None,
    )
    return creator.name or "admin token"


def signed_in_admin_user(client: Client, pymap_user: MakeUser) -> PymapUser:
    """Sign in as a user with the admin role, with a password (which on
    maildir gives no rights over other users)."""
    admin = pymap_user("operator", roles=["admin"])
    sign_in(client, admin)
    return admin


def fake_session(client: Client, server: PymapServer, *, name: str | None, admin: bool) -> None:
    """A signed-in session without a sign-in RPC, for tests against the fake."""
    write_session(client, server, token="fake-token", name=name, admin=admin)


def write_session(
    client: Client,
    server: PymapServer,
    *,
    token: str,
    name: str | None,
    admin: bool,
    admin_token: bool = False,
) -> None:
    """Store a signed-in operator in ``client``'s session, as a sign-in leaves it."""
    now = time.time()
    operator = Operator(
        token=token,
        name=name,
        is_admin=admin,
        server=server.name,
        signed_in_at=now,
        expires_at=now + 3600,
        last_seen=now,
        admin_token=admin_token,
        powers_checked_at=now,
    )
    session = client.session
    session[operator_key(server.name)] = to_stored(operator)
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


def shown_params(form_page: str) -> dict[str, str]:
    """The params rows an edit form comes with, as a browser would send them
    back untouched (a textarea's value drops the newline after its tag)."""
    keys = re.findall(r'name="params-(\d+)-key" value="([^"]*)"', form_page)
    values = dict(
        re.findall(r'<textarea name="params-(\d+)-value"[^>]*>\n?(.*?)</textarea>', form_page, re.S)
    )
    return {
        html.unescape(key): html.unescape(values.get(index, "")).replace("\n", "\r\n")
        for index, key in keys
    }


def edit_post(
    form_page: str,
    *,
    roles: tuple[str, ...] = (),
    params: Mapping[str, str] | None = None,
    action: str = "keep",
    current: str = "",
    new: str = "",
) -> dict[str, str]:
    """The edit form of ``form_page`` (its entity tag and base), filled in;
    ``params`` replaces the rows the form shows (None: sent back as shown)."""
    data = {
        "entity_tag": hidden(form_page, "entity_tag"),
        "base": hidden(form_page, "base"),
        "other_roles": "\n".join(role for role in roles if role != "admin"),
        "password_action": action,
        "current_password": current,
        "new_password1": new,
        "new_password2": new,
        **params_post(shown_params(form_page) if params is None else params),
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


#: The create page, and the password its posts set unless told otherwise.
CREATE = "/users/new/"
PASSWORD = "correct horse battery"


def create_post(
    name: str,
    *,
    password: str | None = PASSWORD,
    again: str | None = None,
    admin: bool = False,
    other_roles: str = "",
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "password_choice": "set" if password is not None else "none",
        "password1": password or "",
        "password2": (again if again is not None else password) or "",
        "other_roles": other_roles,
        **params_post(params or {}, extra_rows=2),
    }
    if admin:
        data["is_admin"] = "on"
    return data


def unique(prefix: str = "created") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
