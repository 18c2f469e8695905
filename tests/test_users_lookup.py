"""Finding users and the user page, against the real pymap."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from adminpanel.users import recent
from adminpanel.users.models import LastAction, RecentUser

from .support.pymap_users import MakeUser
from .support.users import page, raw_password_hash, sign_in, signed_in_admin, user_url

pytestmark = pytest.mark.django_db


def test_admins_get_a_search_box_on_every_page_and_a_users_nav_entry(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    html = page(client.get("/"))
    assert f'action="{reverse("users:lookup")}"' in html
    assert 'for="user-search-name"' in html
    assert f'href="{reverse("users:index")}"' in html


# Two roles and free params: redis keeps one role, maildir no free params.
@pytest.mark.backends("dict")
def test_search_opens_the_user_page_with_roles_params_tag_and_scheme(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("lookup", roles=["admin", "editor"])
    tag = service.set_user(
        pymap_server,
        admin_login_token,
        target.name,
        password=target.password,
        roles=target.roles,
        params={"quota": "10G", "home": "/srv/mail"},
        previous_entity_tag=target.entity_tag,
    )
    response = client.get(reverse("users:lookup"), {"name": f"  {target.name} "})
    assert response.status_code == 302
    assert response["Location"] == user_url("users:detail", target.name)
    html = page(client.get(response["Location"]))
    assert target.name in html
    assert '<span class="role">admin</span>' in html
    assert '<span class="role">editor</span>' in html
    assert "<code>quota</code>" in html
    assert "10G" in html
    assert "/srv/mail" in html
    assert str(tag) in html
    assert "pbkdf2-sha256" in html


def test_the_password_hash_never_reaches_the_page(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("hash")
    stored = raw_password_hash(pymap_server, admin_token, target.name)
    assert stored.startswith("$pbkdf2-sha256$")
    pages = [
        client.get(user_url(view, target.name))
        for view in ("users:detail", "users:edit", "users:password", "users:delete")
    ]
    for response in pages:
        assert response.status_code == 200
        html = page(response)
        assert stored not in html
        assert stored.split("$")[-1] not in html  # not even the digest part
        assert "$pbkdf2" not in html
        assert target.password not in html


def test_unknown_user_is_a_404_page_with_a_link_to_create_it(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    response = client.get(user_url("users:detail", "nobody-here"))
    assert response.status_code == 404
    html = page(response)
    assert "no user named &#x27;nobody-here&#x27;" in html
    assert f'href="{user_url("users:create", "nobody-here")}"' in html
    create_page = page(client.get(user_url("users:create", "nobody-here")))
    assert 'value="nobody-here"' in create_page


def test_names_with_slash_percent_and_dots_round_trip_through_the_urls(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    user = pymap_user(name=f"a/../b%2F%c?d#e&f=g-{uuid.uuid4().hex[:8]}")
    url = user_url("users:detail", user.name)
    assert url.startswith("/users/user/?name=a%2F..%2Fb%252F%25c%3Fd%23e%26f%3Dg-")
    response = client.get(url)
    assert response.status_code == 200
    html = page(response)
    assert f"<code>{user.name.replace('&', '&amp;')}</code>" in html
    edit_link = user_url("users:edit", user.name)
    assert f'href="{edit_link}"' in html
    assert client.get(edit_link).status_code == 200
    lookup = client.get(reverse("users:lookup"), {"name": user.name})
    assert lookup["Location"] == url


def test_users_index_lists_recently_viewed_users_with_links(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    first, second = pymap_user("recent"), pymap_user("recent")
    client.get(user_url("users:detail", first.name))
    client.get(user_url("users:detail", second.name))
    html = page(client.get(reverse("users:index")))
    assert "Recently looked at or changed in this panel" in html
    assert "not from the mail server" in html
    assert f'href="{user_url("users:detail", first.name)}"' in html
    assert html.index(second.name) < html.index(first.name)  # newest first
    assert RecentUser.objects.get(name=first.name).last_action == LastAction.VIEWED


def test_the_recent_list_is_bounded() -> None:
    for index in range(recent.LIMIT + 7):
        recent.note("bounded", f"bounded-{index}", LastAction.VIEWED)
    assert RecentUser.objects.filter(server="bounded").count() == recent.LIMIT
    assert RecentUser.objects.filter(name="bounded-0").exists() is False
    assert RecentUser.objects.filter(name=f"bounded-{recent.LIMIT + 6}").exists()


def test_a_user_without_the_admin_role_sees_only_their_own_recent_entry(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    recent.note(pymap_server.name, "someone-else-entirely", LastAction.EDITED)
    user = pymap_user("plain")
    sign_in(client, user)
    client.get(user_url("users:detail", user.name))
    html = page(client.get(reverse("users:index")))
    assert "someone-else-entirely" not in html
    assert f'href="{user_url("users:detail", user.name)}"' in html
    assert f'href="{user_url("users:password", user.name)}"' in html


def test_lookup_without_a_name_shows_the_form_error(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    response = client.get(reverse("users:lookup"), {"name": "   "})
    assert response.status_code == 400
    assert 'role="alert"' in page(response)


@pytest.mark.backends("dict", "redis")  # maildir keeps no free params
def test_xss_in_a_param_value_and_name_is_shown_escaped(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    target = pymap_user("xss")
    service.set_user(
        pymap_server,
        admin_login_token,
        target.name,
        password=target.password,
        params={"note": payload, "<b>key</b>": "v"},
        previous_entity_tag=target.entity_tag,
    )
    for view in ("users:detail", "users:edit"):
        html = page(client.get(user_url(view, target.name)))
        assert payload not in html
        assert "<script>alert" not in html
        assert "<b>key</b>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
