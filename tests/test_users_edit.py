"""Editing roles and params against the real pymap: entity tags, kept
passwords, conflicts between two operators."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts.models import FailedSignIn
from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser

from .support.panel_client import session_operator
from .support.pymap_users import MakeUser, PymapUser
from .support.users import edit_post, page, sign_in, signed_in_admin, signed_in_admin_user, user_url

pytestmark = pytest.mark.django_db


def stored(server: PymapServer, token: str, user: PymapUser) -> service.UserRecord:
    return service.get_user(server, token, user.name)


@pytest.mark.backends("dict")  # two roles, a free param: test_backends.py
def test_edit_roles_and_params_then_log_in_with_the_kept_password(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("edit", roles=["editor"])
    url = user_url("users:edit", target.name)
    form_page = page(client.get(url))
    # Why a password is needed, before the roles and params are typed.
    why = form_page.index("keeps only a one-way hash of the password")
    assert why < form_page.index("Other roles")
    data = edit_post(
        form_page,
        roles=("admin", "auditor"),
        params={"quota": "2G"},
        action="keep",
        current=target.password,
    )
    response = client.post(url, data)
    assert response.status_code == 302, page(response)[:3000]
    token = service.login(pymap_server, target.name, password=target.password)
    record = stored(pymap_server, token, target)
    assert set(record.roles) == {"admin", "auditor"}
    assert dict(record.params) == {"quota": "2G"}
    assert record.entity_tag != target.entity_tag
    event = AuditEvent.objects.get(action="user-edit", target=target.name)
    assert event.outcome == "ok"
    assert event.changed_fields == ["params.quota", "roles"]  # not "password": it was kept
    assert RecentUser.objects.get(name=target.name).last_action == LastAction.EDITED
    assert "changed the roles and the parameter “quota”" in page(client.get(response["Location"]))


def test_keep_with_a_wrong_current_password_saves_nothing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("typo")
    url = user_url("users:edit", target.name)
    data = edit_post(page(client.get(url)), roles=("editor",), current="not-the-password")
    response = client.post(url, data)
    assert response.status_code == 400
    html = page(response)
    assert "not the user&#x27;s current password" in html
    assert "not-the-password" not in html
    token = service.login(pymap_server, target.name, password=target.password)
    assert stored(pymap_server, token, target).entity_tag == target.entity_tag
    event = AuditEvent.objects.get(action="user-edit", target=target.name)
    assert event.outcome == "InvalidAuth"
    assert event.changed_fields == ["roles"]


def test_keep_without_typing_the_password_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("blank")
    url = user_url("users:edit", target.name)
    response = client.post(url, edit_post(page(client.get(url)), roles=("editor",), current=""))
    assert response.status_code == 400
    assert "Enter the current password so it is kept" in page(response)


def test_set_a_new_password_while_editing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("newpw")
    url = user_url("users:edit", target.name)
    data = edit_post(page(client.get(url)), roles=("a",), action="new", new="brand new secret")
    assert client.post(url, data).status_code == 302
    assert service.login(pymap_server, target.name, password="brand new secret")
    with pytest.raises(Refused):
        service.login(pymap_server, target.name, password=target.password)
    event = AuditEvent.objects.get(action="user-edit", target=target.name)
    assert event.changed_fields == ["password", "roles"]


def test_remove_the_password_is_explicit_and_audited(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("nopw")
    url = user_url("users:edit", target.name)
    data = edit_post(page(client.get(url)), action="remove")
    assert client.post(url, data).status_code == 302
    assert stored(pymap_server, admin_token, target).has_password is False
    assert AuditEvent.objects.get(action="user-edit").changed_fields == ["password"]


def test_an_edit_that_changes_nothing_sends_nothing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("same", roles=["editor"])
    url = user_url("users:edit", target.name)
    data = edit_post(page(client.get(url)), roles=("editor",), current="whatever")
    response = client.post(url, data, follow=True)
    assert "Nothing to save" in page(response)
    assert stored(pymap_server, admin_token, target).entity_tag == target.entity_tag
    assert not AuditEvent.objects.filter(action="user-edit").exists()


@pytest.mark.backends("dict")  # two roles, a free param: test_backends.py
def test_two_operators_racing_the_second_gets_a_conflict_and_the_first_change_survives(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    first, second = Client(), Client()
    signed_in_admin(first, pymap_user)
    signed_in_admin(second, pymap_user)
    target = pymap_user("race", roles=["editor"])
    url = user_url("users:edit", target.name)
    first_page, second_page = page(first.get(url)), page(second.get(url))

    first_data = edit_post(
        first_page, roles=("editor",), params={"quota": "1G"}, current=target.password
    )
    assert first.post(url, first_data).status_code == 302
    second_data = edit_post(
        second_page, roles=("editor", "auditor"), params={}, current=target.password
    )
    conflict = second.post(url, second_data)

    assert conflict.status_code == 409
    html = page(conflict)
    assert "was changed by someone else" in html
    assert "Nothing was overwritten" in html
    assert "auditor, editor" in html  # your version
    assert "1G" in html  # the current value, by the first operator
    assert target.password not in html
    token = service.login(pymap_server, target.name, password=target.password)
    after_race = stored(pymap_server, token, target)
    assert dict(after_race.params) == {"quota": "1G"}
    assert after_race.roles == ("editor",)
    audit = AuditEvent.objects.filter(target=target.name, action="user-edit").order_by("id")
    assert [event.outcome for event in audit] == ["ok", "CannotReplaceUser"]

    # The conflict page's form re-applies the second operator's change (the
    # new role) on top of the first one's (the quota), against the new tag.
    assert f'value="{after_race.entity_tag}"' in html
    reapply = edit_post(
        html, roles=("editor", "auditor"), params={"quota": "1G"}, current=target.password
    )
    assert 'id="id_other_roles"' in html
    assert "auditor" in html.split('id="id_other_roles"', 1)[1].split("</textarea>", 1)[0]
    assert client_post_ok(second, url, reapply)
    final = stored(pymap_server, token, target)
    assert set(final.roles) == {"editor", "auditor"}
    assert dict(final.params) == {"quota": "1G"}


def client_post_ok(client: Client, url: str, data: dict[str, str]) -> bool:
    response = client.post(url, data)
    assert response.status_code == 302, page(response)[:3000]
    return True


@pytest.mark.backends("dict", "redis")  # maildir checks no tags
def test_a_stale_entity_tag_is_refused_by_the_server_too(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    admin_login_token: str,
) -> None:
    """The race between the panel's own re-read and SetUser: pymap's check holds."""
    signed_in_admin(client, pymap_user)
    target = pymap_user("late", roles=["editor"])
    url = user_url("users:edit", target.name)
    form_page = page(client.get(url))
    token = admin_login_token
    real_get_user = service.get_user

    def get_user_then_someone_saves(server: PymapServer, tok: str, name: str) -> object:
        record = real_get_user(server, tok, name)
        if record.entity_tag == target.entity_tag:
            service.set_user(
                server, token, name, password=target.password, roles=["editor"],
                params={"sneaky": "yes"}, previous_entity_tag=record.entity_tag,
            )  # fmt: skip
        return record

    monkeypatch.setattr(service, "get_user", get_user_then_someone_saves)
    response = client.post(url, edit_post(form_page, roles=(), current=target.password))
    assert response.status_code == 409
    assert "sneaky" in page(response)
    assert dict(stored(pymap_server, token, target).params) == {"sneaky": "yes"}
    [event] = AuditEvent.objects.filter(action="user-edit")
    assert event.outcome == "CannotReplaceUser"


def test_a_user_deleted_meanwhile_gives_a_conflict_with_a_way_to_create_it_again(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("gone")
    url = user_url("users:edit", target.name)
    form_page = page(client.get(url))
    service.delete_user(pymap_server, admin_login_token, target.name)
    response = client.post(url, edit_post(form_page, roles=("mine",), current="x"))
    assert response.status_code == 409
    html = page(response)
    assert "someone deleted this user" in html
    assert "mine" in html
    assert f'href="{user_url("users:create", target.name)}"' in html


@pytest.mark.backends("dict", "redis")  # maildir keeps no free params
def test_line_breaks_in_a_stored_value_survive_an_edit_of_something_else(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("lines")
    token = admin_login_token
    service.set_user(
        pymap_server, token, target.name, password=target.password,
        params={"motd": "line one\nline two"}, previous_entity_tag=target.entity_tag,
    )  # fmt: skip
    url = user_url("users:edit", target.name)
    form_page = page(client.get(url))
    assert "line one\nline two</textarea>" in form_page
    # What a browser sends back for the untouched textarea: CRLF line breaks.
    data = edit_post(
        form_page,
        roles=("editor",),
        params={"motd": "line one\r\nline two"},
        current=target.password,
    )
    assert client.post(url, data).status_code == 302
    assert dict(stored(pymap_server, token, target).params) == {"motd": "line one\nline two"}
    assert AuditEvent.objects.get(action="user-edit").changed_fields == ["roles"]


@pytest.mark.backends("dict", "redis")  # a line break would corrupt maildir"s group file
def test_a_user_with_values_a_form_cannot_carry_is_not_edited_here(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("odd")
    token = admin_login_token
    service.set_user(
        pymap_server, token, target.name, password=target.password,
        roles=["two\nlines"], previous_entity_tag=target.entity_tag,
    )  # fmt: skip
    response = client.get(user_url("users:edit", target.name))
    assert response.status_code == 409
    html = page(response)
    assert "cannot carry back unchanged" in html
    assert "pymap-admin set-user" in html
    assert 'name="entity_tag"' not in html


def test_a_tampered_base_field_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("tamper")
    url = user_url("users:edit", target.name)
    data = edit_post(page(client.get(url)), roles=("editor",), current=target.password)
    data["base"] = data["base"][:-3] + "abc"
    response = client.post(url, data)
    assert response.status_code == 400
    assert "damaged in transit" in page(response)


@pytest.mark.backends("dict", "redis")  # maildir: an admin-role user has no rights over others
def test_editing_yourself_keeps_the_session_working(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin_user(client, pymap_user)
    old_token = session_operator(client).token
    url = user_url("users:edit", admin.name)
    data = edit_post(page(client.get(url)), roles=("admin",), params={"me": "1"},
                     current=admin.password)  # fmt: skip
    assert client.post(url, data).status_code == 302
    new_token = session_operator(client).token
    assert new_token != old_token
    assert service.get_user(pymap_server, new_token, admin.name).params == {"me": "1"}
    assert client.get(user_url("users:detail", admin.name)).status_code == 200


@pytest.mark.backends("dict", "redis")  # maildir: an admin-role user has no rights over others
def test_you_cannot_remove_your_own_password(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin_user(client, pymap_user)
    url = user_url("users:edit", admin.name)
    response = client.post(url, edit_post(page(client.get(url)), roles=("admin",), action="remove"))
    assert response.status_code == 400
    assert "cannot remove your own password" in page(response)


@pytest.mark.backends("dict", "redis")  # maildir: an admin-role user has no rights over others
def test_removing_your_own_admin_role_updates_the_session(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin_user(client, pymap_user)
    url = user_url("users:edit", admin.name)
    data = edit_post(page(client.get(url)), roles=(), current=admin.password)
    assert client.post(url, data).status_code == 302
    assert session_operator(client).is_admin is False
    assert "admin role" not in page(client.get(user_url("users:detail", admin.name)))


def test_users_without_the_admin_role_are_not_offered_editing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("plain")
    sign_in(client, user)
    detail = page(client.get(user_url("users:detail", user.name)))
    assert user_url("users:edit", user.name) not in detail
    response = client.get(user_url("users:edit", user.name))
    assert response.status_code == 403
    assert "needs the admin role" in page(response)


def test_edit_of_an_unknown_user_is_a_404(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    response = client.get(user_url("users:edit", "no-such-user-for-edit"))
    assert response.status_code == 404
    with pytest.raises(Refused) as caught:
        service.get_user(pymap_server, admin_login_token, "no-such-user-for-edit")
    assert caught.value.is_(RefusalKey.USER_NOT_FOUND)


def test_keep_password_checks_count_toward_the_sign_in_limits(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, settings: DjangoSettings
) -> None:
    """Each "keep the current password" check is a guess: without the limits
    it would be an unthrottled password oracle for the user's password."""
    settings.PANEL_SIGN_IN_LIMIT_PER_USER = 3
    signed_in_admin(client, pymap_user)
    target = pymap_user("oracle")
    url = user_url("users:edit", target.name)
    for guess in ("one", "two", "three"):
        data = edit_post(page(client.get(url)), roles=("editor",), current=guess)
        assert client.post(url, data).status_code == 400
    data = edit_post(page(client.get(url)), roles=("editor",), current=target.password)
    throttled = client.post(url, data)
    assert throttled.status_code == 429
    assert throttled["Retry-After"]
    assert "Too many failed sign-ins" in page(throttled)
    assert FailedSignIn.objects.filter(user_name=target.name).count() == 3
