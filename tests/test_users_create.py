"""Creating users against the real pymap: SetUser with overwrite off."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser

from .support.pymap_users import MakeUser
from .support.users import (
    CREATE,
    create_post,
    page,
    params_post,
    sign_in,
    signed_in_admin,
    unique,
    user_url,
)

pytestmark = pytest.mark.django_db


# Several roles and free params: redis stores one role, maildir only its
# mailbox_path (test_backends.py covers both).
@pytest.mark.backends("dict")
def test_create_with_password_roles_and_params(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin(client, pymap_user)
    name = unique()
    response = client.post(
        CREATE,
        create_post(
            name,
            admin=True,
            other_roles="editor\r\nauditor\r\n",
            params={"quota": "5G", "note": " spaced value "},
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == user_url("users:detail", name)
    token = service.login(pymap_server, name, password="correct horse battery")
    stored = service.get_user(pymap_server, token, name)
    assert set(stored.roles) == {"admin", "editor", "auditor"}
    assert dict(stored.params) == {"quota": "5G", "note": " spaced value "}
    assert RecentUser.objects.get(name=name).last_action == LastAction.CREATED
    assert f"User {name} was created." in page(client.get(response["Location"]))
    event = AuditEvent.objects.get(action="user-create", target=name)
    assert event.outcome == "ok"
    assert event.operator == admin
    assert event.changed_fields == ["params.note", "params.quota", "password", "roles"]


def test_create_without_a_password_is_an_explicit_choice(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique()
    response = client.post(CREATE, create_post(name, password=None))
    assert response.status_code == 302
    stored = service.get_user(pymap_server, admin_token, name)
    assert stored.has_password is False
    html = page(client.get(response["Location"]))
    assert "created without a password" in html
    assert "Not set: the user cannot log in" in html


def test_create_with_an_existing_name_says_so_and_overwrites_nothing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    existing = pymap_user("existing", roles=["editor"])
    response = client.post(CREATE, create_post(existing.name, password="another password"))
    assert response.status_code == 409
    html = page(response)
    assert "A user with this name already exists. Nothing was changed." in html
    assert f'href="{user_url("users:detail", existing.name)}"' in html
    token = service.login(pymap_server, existing.name, password=existing.password)
    stored = service.get_user(pymap_server, token, existing.name)
    assert stored.entity_tag == existing.entity_tag
    assert stored.roles == ("editor",)
    assert AuditEvent.objects.get(target=existing.name).outcome == "CannotReplaceUser"


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("short", "short", "at least 8 characters"),
        ("long enough 1", "long enough 2", "The two passwords differ"),
        ("long enough 1", "", "Enter the new password a second time"),
        ("x" * 1025, "x" * 1025, "at most 1024 characters"),
    ],
)
def test_bad_passwords_are_refused_before_any_rpc(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    admin_token: str,
    password: str,
    again: str,
    message: str,
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique()
    response = client.post(CREATE, create_post(name, password=password, again=again))
    assert response.status_code == 400
    assert message in page(response)
    assert password not in page(response)  # never echoed back
    with pytest.raises(Refused) as caught:
        service.get_user(pymap_server, admin_token, name)
    assert caught.value.is_(RefusalKey.USER_NOT_FOUND)


def test_long_passphrase_without_composition_rules_is_accepted(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    name, passphrase = unique(), "all lower case words and nothing else " * 5
    assert len(passphrase) > 128
    assert client.post(CREATE, create_post(name, password=passphrase)).status_code == 302
    assert service.login(pymap_server, name, password=passphrase)


def test_no_password_chosen_but_one_typed_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    data = create_post(unique(), password=None)
    data["password1"] = "typed anyway"
    response = client.post(CREATE, data)
    assert response.status_code == 400
    assert "You chose no password but typed one" in page(response)


def test_duplicate_param_names_are_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    data = create_post(unique())
    data.update(params_post({"quota": "1"}, extra_rows=1))
    data["params-1-key"], data["params-1-value"] = "quota", "2"
    response = client.post(CREATE, data)
    assert response.status_code == 400
    assert "appears twice" in page(response)


def test_a_value_without_a_name_is_refused(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    data = create_post(unique())
    data["params-0-value"] = "orphan"
    response = client.post(CREATE, data)
    assert response.status_code == 400
    assert "Give this value a name" in page(response)


def test_more_parameter_rows_keeps_the_input_and_saves_nothing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    signed_in_admin(client, pymap_user)
    name = unique()
    data = create_post(name, admin=True, other_roles="editor", params={"quota": "7G"})
    data["more_rows"] = "1"
    response = client.post(CREATE, data)
    assert response.status_code == 200
    html = page(response)
    assert f'value="{name}"' in html
    assert "7G" in html
    assert "editor" in html
    assert 'id="id_is_admin" checked' in html
    assert 'name="params-TOTAL_FORMS" value="6"' in html  # 1 filled + 2 empty + 3 more
    assert "correct horse battery" not in html
    with pytest.raises(Refused):
        service.get_user(pymap_server, admin_token, name)


def test_users_without_the_admin_role_cannot_create(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_token: str
) -> None:
    sign_in(client, pymap_user("plain"))
    assert client.get(CREATE).status_code == 403
    name = unique()
    response = client.post(CREATE, create_post(name))
    assert response.status_code == 403
    assert "needs the admin role" in page(response)
    with pytest.raises(Refused):
        service.get_user(pymap_server, admin_token, name)


def test_create_page_labels_every_input(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    html = page(client.get(reverse("users:create")))
    for field_id in ("id_name", "id_password1", "id_password2", "id_is_admin", "id_other_roles"):
        assert f'for="{field_id}"' in html
    for row in range(3):
        for part in ("key", "value", "DELETE"):
            assert f'for="id_params-{row}-{part}"' in html
    assert "maxlength" not in html  # a browser would cut a pasted value silently
