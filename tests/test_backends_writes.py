"""Writes on each pymap backend: what the backend would misread is refused
before anything is written, and what it kept is said afterwards
(docs/backends.md). The rest of the backends' differences are in
test_backends.py.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client

from adminpanel.audit.models import AuditEvent
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser, unique_name
from .support.stored import stored_user
from .support.users import CREATE, create_post, edit_post, page, signed_in_admin, user_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _panel_on_the_session_server(request: pytest.FixtureRequest) -> None:
    """Point the panel at the session's server in every test that has one."""
    if "pymap" in request.fixturenames:
        request.getfixturevalue("pymap_server")


# --- what the backend would misread is refused before any write --------------------


@pytest.mark.backends("redis")
@pytest.mark.parametrize("param", ["role", "password", "key", "etag"])
def test_redis_refuses_params_named_like_its_own_fields(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, param: str
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique_name("reserved")
    response = client.post(CREATE, create_post(name, params={param: "admin"}))
    assert response.status_code == 400
    assert "cannot be used here" in page(response)
    assert stored_user(pymap, name) is None
    assert not AuditEvent.objects.filter(action="user-create").exists()


@pytest.mark.backends("redis")
def test_redis_refuses_a_second_role_before_writing(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("one-role", roles=["editor"])
    url = user_url("users:edit", target.name)
    response = client.post(
        url, edit_post(page(client.get(url)), roles=("editor", "auditor"), current=target.password)
    )
    assert response.status_code == 400
    assert "at most 1 role per user" in page(response)
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"editor"}


@pytest.mark.backends("maildir")
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name_suffix": ",other"}, "cannot contain ','"),
        ({"name_suffix": "\\"}, "cannot contain backslash"),
        ({"other_roles": "a,b"}, "The role 'a,b' cannot contain ','"),
        ({"params": {"note": "x"}}, "keeps only the parameter mailbox_path"),
        ({"params": {"mailbox_path": "a\\b"}}, "cannot contain backslash"),
    ],
)
def test_maildir_refuses_what_its_files_would_misread(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, fields: dict[str, Any], expected: str
) -> None:
    signed_in_admin(client, pymap_user)
    fields = dict(fields)
    name = unique_name("files") + fields.pop("name_suffix", "")
    groups_before = (pymap.maildir_dir / "pymap-etc-group").read_bytes()
    response = client.post(CREATE, create_post(name, **fields))
    assert response.status_code == 400
    assert html.escape(expected) in page(response)
    assert stored_user(pymap, name) is None
    assert (pymap.maildir_dir / "pymap-etc-group").read_bytes() == groups_before


@pytest.mark.backends("maildir")
def test_a_mailbox_path_outside_the_mail_directory_needs_a_confirmation(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique_name("outside")
    data = create_post(name, params={"mailbox_path": "../elsewhere"})
    refused = client.post(CREATE, data)
    assert refused.status_code == 400
    text = page(refused)
    assert html.escape("lies outside the server's mail directory") in text
    assert "Yes, point the user at this mailbox path" in text
    assert stored_user(pymap, name) is None
    confirmed = client.post(CREATE, {**data, "confirm_mailbox_path": "on"})
    assert confirmed.status_code == 302
    stored = stored_user(pymap, name)
    assert stored is not None
    assert stored.params == {"mailbox_path": "../elsewhere"}


@pytest.mark.backends("maildir")
def test_changing_the_mailbox_path_says_the_mail_does_not_move(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("moved")
    url = user_url("users:edit", target.name)
    data = edit_post(
        page(client.get(url)), params={"mailbox_path": "new-dir"}, current=target.password
    )
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "the mail in the old one does not move" in page(refused)
    assert client.post(url, {**data, "confirm_mailbox_path": "on"}).status_code == 302
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.params == {"mailbox_path": "new-dir"}


# --- say what the server kept ----------------------------------------------------------


@pytest.mark.backends("maildir")
def test_create_says_what_the_server_added(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique_name("added")
    response = client.post(CREATE, create_post(name), follow=True)
    html = page(response)
    assert f"User {name} was created." in html
    assert f"the server added the parameter &#x27;mailbox_path&#x27; = &#x27;{name}&#x27;" in html
    event = AuditEvent.objects.get(action="user-create", outcome="ok")
    assert "params.mailbox_path" in event.changed_fields
    assert "as stored: the server added the parameter 'mailbox_path'" in event.detail


def test_an_edit_is_audited_as_stored(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("audited", roles=["editor"])
    url = user_url("users:edit", target.name)
    # The params the form shows (maildir always reports the user's directory).
    params = {"mailbox_path": target.name} if pymap.backend == "maildir" else {}
    response = client.post(
        url,
        edit_post(
            page(client.get(url)), roles=("auditor",), params=params, current=target.password
        ),
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user-edit", outcome="ok")
    assert event.changed_fields == ["roles"]
    assert event.detail == ""
