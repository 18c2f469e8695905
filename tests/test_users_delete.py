"""Deleting users against the real pymap: confirm, POST, gone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser

from .support.panel_client import signed_in_anywhere
from .support.pymap_users import MakeUser
from .support.users import page, sign_in, signed_in_admin, signed_in_admin_user, user_url

pytestmark = pytest.mark.django_db


def test_the_confirmation_page_names_the_user_and_warns_about_the_mail(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("doomed")
    response = client.get(user_url("users:delete", target.name))
    assert response.status_code == 200
    html = page(response)
    assert f'Delete <span class="user-name">{target.name}</span>?' in html
    assert "all of its mail" in html
    assert "cannot be undone" in html
    assert 'method="post"' in html
    assert service.get_user(pymap_server, admin_token, target.name)  # GET deleted nothing


def test_delete_then_get_says_the_user_is_gone(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    admin = signed_in_admin(client, pymap_user)
    target = pymap_user("doomed")
    response = client.post(user_url("users:delete", target.name))
    assert response.status_code == 302
    assert response["Location"] == reverse("users:index")
    with pytest.raises(Refused) as caught:
        service.get_user(pymap_server, admin_token, target.name)
    assert caught.value.is_(RefusalKey.USER_NOT_FOUND)
    index = page(client.get(response["Location"]))
    assert f"User {target.name} and all of its mail were deleted" in index
    assert "Deleted" in index  # the recent list says what happened last
    assert client.get(user_url("users:detail", target.name)).status_code == 404
    event = AuditEvent.objects.get(action="user-delete")
    assert (event.target, event.outcome, event.operator) == (target.name, "ok", admin)
    assert RecentUser.objects.get(name=target.name).last_action == LastAction.DELETED


def test_deleting_a_user_that_is_already_gone_says_so(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    response = client.post(user_url("users:delete", "never-existed-here"), follow=True)
    assert "no user named never-existed-here any more" in page(response)
    assert AuditEvent.objects.get(action="user-delete").outcome == "UserNotFound"


@pytest.mark.backends("dict", "redis")  # maildir: an admin-role user has no rights over others
def test_deleting_yourself_signs_you_out(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    admin = signed_in_admin_user(client, pymap_user)
    html = page(client.get(user_url("users:delete", admin.name)))
    assert "This is your own user." in html
    response = client.post(user_url("users:delete", admin.name), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:sign-in"))
    assert "You deleted your own user" in page(response)
    assert not signed_in_anywhere(client.session)
    with pytest.raises(Refused):
        service.get_user(pymap_server, admin_token, admin.name)


def test_delete_needs_a_post(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("kept")
    assert client.put(user_url("users:delete", target.name)).status_code == 405
    assert service.get_user(pymap_server, admin_token, target.name)


def test_users_without_the_admin_role_cannot_delete(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    user = pymap_user("plain")
    sign_in(client, user)
    for response in (
        client.get(user_url("users:delete", user.name)),
        client.post(user_url("users:delete", user.name)),
    ):
        assert response.status_code == 403
        assert "Deleting users needs the admin role" in page(response)
    assert service.get_user(pymap_server, admin_token, user.name)
