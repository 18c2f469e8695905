"""What the panel does about each way pymap's backends differ (docs/backends.md).

Each test names the backends whose behaviour it is about; what the server
kept is read past the panel, with ``pymap-admin`` and pymap's own files
(tests/stored.py).
"""

from __future__ import annotations

import dataclasses
import imaplib
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.audit.models import AuditEvent
from adminpanel.mail.models import ImportJob, JobState
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer, server_from_env
from adminpanel.servers.models import ServerKnowledge
from devtools.pymap_process import PymapProcess

from .support.mail import IMPORT, fetch_all, mbox_bytes, message, run, upload
from .support.panel_client import SIGN_IN, session_operator
from .support.pymap_users import MakeUser
from .support.stored import maildir_group_roles, maildir_token_lines, stored_user
from .support.users import (
    CREATE,
    PASSWORD,
    create_post,
    edit_post,
    page,
    sign_in,
    signed_in_admin,
    user_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _panel_on_the_session_server(request: pytest.FixtureRequest) -> None:
    """Point the panel at the session's server in every test that has one."""
    if "pymap" in request.fixturenames:
        request.getfixturevalue("pymap_server")


# --- knowing the backend ----------------------------------------------------------


def test_a_password_sign_in_tells_the_backend_and_the_dashboard_shows_it(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    sign_in(client, pymap_user("who"))
    assert ServerKnowledge.objects.get(server=pymap_server.name).backends == pymap.backend
    html = page(client.get("/"))
    assert "Storage backend" in html
    assert f"<dd>{pymap.backend} <span" in html
    assert "learnt from the server" in html


@pytest.mark.backends("dict")
def test_an_admin_token_sign_in_tells_dict(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer
) -> None:
    response = client.post(SIGN_IN, {"method": "token", "token": pymap.admin_token})
    assert response.status_code == 302
    assert ServerKnowledge.objects.get(server=pymap_server.name).backends == "dict"


@pytest.mark.backends("maildir", "redis")
def test_an_admin_token_sign_in_narrows_to_maildir_or_redis_until_a_record_is_read(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    target = pymap_user("first")
    client.post("/accounts/sign-in/", {"method": "token", "token": pymap.admin_token})
    assert ServerKnowledge.objects.get(server=pymap_server.name).backends == "maildir,redis"
    assert "maildir or redis" in page(client.get("/"))
    assert client.get(user_url("users:detail", target.name)).status_code == 200
    assert ServerKnowledge.objects.get(server=pymap_server.name).backends == pymap.backend


def test_a_configured_backend_is_used_and_nothing_is_learnt(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, settings: DjangoSettings
) -> None:
    settings.PYMAP_SERVER = dataclasses.replace(pymap_server, backend=pymap.backend)
    client.post("/accounts/sign-in/", {"method": "token", "token": pymap.admin_token})
    html = page(client.get("/"))
    assert f"<dd>{pymap.backend} <span" in html
    assert "set by PYMAP_ADMIN_BACKEND" in html
    assert not ServerKnowledge.objects.exists()


def test_an_unknown_backend_setting_stops_the_panel() -> None:
    with pytest.raises(ImproperlyConfigured, match="PYMAP_ADMIN_BACKEND must be one of"):
        server_from_env({"PYMAP_ADMIN_BACKEND": "mysql"})


# --- roles are the user's own ------------------------------------------------------


def test_the_user_page_shows_the_users_own_roles_to_every_operator(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, pymap_server: PymapServer
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("plain", roles=["editor"])
    html = page(client.get(user_url("users:detail", target.name)))
    assert '<span class="role">editor</span>' in html
    assert '<span class="role">admin</span>' not in html


def test_a_password_change_never_changes_the_roles(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, pymap_server: PymapServer
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("pw", roles=["editor"])
    response = client.post(
        user_url("users:password", target.name),
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert response.status_code == 302
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"editor"}
    assert service.login(pymap_server, target.name, password="a brand new passphrase")


def test_an_edit_of_params_never_changes_the_roles(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("edit")
    url = user_url("users:edit", target.name)
    form = page(client.get(url))
    assert 'name="is_admin" id="id_is_admin" checked' not in form
    params = {"mailbox_path": target.name} if pymap.backend == "maildir" else {"note": "x"}
    assert (
        client.post(url, edit_post(form, params=params, current=target.password)).status_code == 302
    )
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == frozenset()
    assert service.login(pymap.server(), target.name, password=target.password)  # kept


@pytest.mark.backends("maildir")
def test_reading_users_with_the_admin_token_does_not_mint_a_token_per_page_view(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("reads")
    client.get(user_url("users:detail", target.name))
    after_first = maildir_token_lines(pymap)
    for _ in range(3):
        assert client.get(user_url("users:detail", target.name)).status_code == 200
    client.get(user_url("users:edit", target.name))
    assert maildir_token_lines(pymap) == after_first


@pytest.mark.backends("maildir")
def test_an_admin_role_user_with_a_password_is_told_that_only_the_admin_token_acts_on_others(
    client: Client, pymap_user: MakeUser
) -> None:
    admin = pymap_user("role-admin", roles=["admin"])
    other = pymap_user("other")
    response = client.post(
        "/accounts/sign-in/",
        {"method": "password", "username": admin.name, "password": admin.password},
        follow=True,
    )
    html = page(response)
    assert "lets only its admin token act on other users" in html
    assert session_operator(client).is_admin is False
    # Pages that could only end in a 403 are not offered, and say why.
    assert "Create a user" not in html
    refused = client.get(user_url("users:edit", other.name))
    assert refused.status_code == 403
    assert "gives rights over other users only to its admin token" in page(refused)
    # Their own page shows their own role.
    own = page(client.get(user_url("users:detail", admin.name)))
    assert '<span class="role">admin</span>' in own


@pytest.mark.backends("maildir")
def test_a_user_with_roles_changes_their_own_password_on_maildir(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, pymap_server: PymapServer
) -> None:
    user = pymap_user("roles", roles=["editor"])
    sign_in(client, user)
    form = page(client.get(user_url("users:password", user.name)))
    assert "Your record has roles" not in form
    response = client.post(
        user_url("users:password", user.name),
        {
            "current_password": user.password,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert maildir_group_roles(pymap, user.name) == {"editor"}
    assert service.login(pymap_server, user.name, password="a brand new passphrase")


# --- never an overwrite, never a lost edit -------------------------------------------


def test_create_never_replaces_an_existing_user(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser, pymap_server: PymapServer
) -> None:
    signed_in_admin(client, pymap_user)
    existing = pymap_user("taken", roles=["editor"])
    response = client.post(CREATE, create_post(existing.name, other_roles="intruder"))
    assert response.status_code == 409
    assert "already exists" in page(response)
    stored = stored_user(pymap, existing.name)
    assert stored is not None
    assert stored.roles == {"editor"}
    assert service.login(pymap_server, existing.name, password=existing.password)
    with pytest.raises(Refused):
        service.login(pymap_server, existing.name, password=PASSWORD)
    event = AuditEvent.objects.get(action="user-create")
    assert event.outcome == "CannotReplaceUser"


def test_a_concurrent_edit_reaches_the_conflict_page(
    client: Client, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    second = Client()
    signed_in_admin(second, pymap_user)
    target = pymap_user("both", roles=["editor"])
    url = user_url("users:edit", target.name)
    first_form, second_form = page(client.get(url)), page(second.get(url))
    assert (
        client.post(
            url, edit_post(first_form, roles=("first",), current=target.password)
        ).status_code
        == 302
    )
    response = second.post(url, edit_post(second_form, roles=("second",), current=target.password))
    assert response.status_code == 409
    assert "was changed by someone else" in page(response)
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"first"}


# --- mail ----------------------------------------------------------------------------


@pytest.mark.backends("redis")
@pytest.mark.usefixtures("mail_spool")
def test_an_import_whose_token_died_resumes_with_a_fresh_token(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    admin_login_token: str,
    imap_client: Callable[..., imaplib.IMAP4],
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("edited")
    originals = [message(index) for index in range(1, 6)]
    assert upload(client, target.name, [("a.mbox", mbox_bytes(originals))]).status_code == 302
    job = ImportJob.objects.get()
    # Someone saves the user before the worker runs: redis gives it a new
    # token key, and the import's token dies with the old one.
    record = service.get_user(pymap_server, admin_login_token, target.name)
    service.set_user(
        pymap_server,
        admin_login_token,
        target.name,
        password=target.password,
        previous_entity_tag=record.entity_tag,
    )
    job = run(job)
    assert job.state == JobState.FAILED
    assert job.stop_key == "InvalidAuth"
    assert "every change to the user (an edit, a password change) ends" in job.stop_reason
    html = page(client.get(f"{IMPORT}{job.pk}/"))
    assert "Resume the import" in html
    assert client.post(f"{IMPORT}{job.pk}/resume/").status_code == 302
    job = run(job)
    assert job.state == JobState.FINISHED
    stored = fetch_all(imap_client(target.name, target.password))
    assert [item.body for item in stored] == originals


@pytest.mark.backends("redis")
def test_on_redis_a_change_of_the_operators_roles_ends_their_session(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    """Any SetUser gives the user a new token key, so the session's token dies:
    the next page signs the operator out (pymap no longer accepts it)."""
    operator = pymap_user("demoted", roles=["admin"])
    sign_in(client, operator)
    record = service.get_user(pymap_server, admin_login_token, operator.name)
    service.set_user(
        pymap_server,
        admin_login_token,
        operator.name,
        password=operator.password,
        previous_entity_tag=record.entity_tag,
    )
    response = client.get("/audit/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/sign-in/")
    assert "no longer accepts your session" in page(response)
