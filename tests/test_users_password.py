"""Changing passwords against the real pymap: for others (admin) and oneself."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts.models import FailedSignIn
from adminpanel.audit.models import AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser
from devtools.pymap_process import PymapProcess

from .support.panel_client import session_operator
from .support.pymap_users import MakeUser
from .support.stored import stored_user
from .support.users import page, sign_in, signed_in_admin, signed_in_admin_user, user_url

pytestmark = pytest.mark.django_db

NEW = "a brand new passphrase"


def change(
    client: Client,
    name: str,
    password: str = NEW,
    again: str | None = None,
    *,
    current: str = "",
) -> Any:
    """Post the password form; ``current`` is asked when operators change their own."""
    return client.post(
        user_url("users:password", name),
        {
            "current_password": current,
            "new_password1": password,
            "new_password2": password if again is None else again,
        },
    )


def test_admin_changes_another_users_password_keeping_roles_and_params(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin(client, pymap_user)
    target = pymap_user("pw", roles=["editor"])
    form_page = page(client.get(user_url("users:password", target.name)))
    assert 'for="id_new_password1"' in form_page
    response = change(client, target.name)
    assert response.status_code == 302
    assert service.login(pymap_server, target.name, password=NEW)
    with pytest.raises(Refused):
        service.login(pymap_server, target.name, password=target.password)
    record = stored_user(pymap, target.name)
    assert record is not None
    assert record.roles == {"editor"}
    event = AuditEvent.objects.get(action="password-change")
    assert (event.target, event.outcome, event.operator) == (target.name, "ok", admin)
    assert event.changed_fields == ["password"]
    assert NEW not in str(event.__dict__)
    assert RecentUser.objects.get(name=target.name).last_action == LastAction.PASSWORD_CHANGED


def test_a_user_without_roles_changes_their_own_password_and_stays_signed_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("self")
    sign_in(client, user)
    old_token = session_operator(client).token
    old_expiry = session_operator(client).expires_at
    form_page = page(client.get(user_url("users:password", user.name)))
    assert "Change your password" in form_page
    response = change(client, user.name, current=user.password)
    assert response.status_code == 302
    operator = session_operator(client)
    assert operator.token != old_token
    assert operator.expires_at == old_expiry
    assert service.get_user(pymap_server, operator.token, user.name).name == user.name
    followed = client.get(user_url("users:detail", user.name))
    assert followed.status_code == 200
    assert "You stay signed in" in page(followed)
    assert service.login(pymap_server, user.name, password=NEW)


def test_a_user_without_the_admin_role_is_refused_for_another_user(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, other = pymap_user("self"), pymap_user("other")
    sign_in(client, user)
    for response in (
        client.get(user_url("users:password", other.name)),
        change(client, other.name),
    ):
        assert response.status_code == 403
        html = page(response)
        assert "Not allowed" in html
        assert f"refused to let {user.name} act on the user" in html
        assert "Traceback" not in html
    assert service.login(pymap_server, other.name, password=other.password)
    assert AuditEvent.objects.get(action="password-change").outcome == "AuthorizationFailure"


@pytest.mark.backends("dict", "redis")  # maildir allows it: test_backends.py
def test_a_user_with_roles_is_told_why_the_server_refuses_their_own_change(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("roles", roles=["editor"])
    sign_in(client, user)
    form_page = page(client.get(user_url("users:password", user.name)))
    assert "Your record has roles (editor)" in form_page
    response = change(client, user.name, current=user.password)
    assert response.status_code == 403
    html = page(response)
    assert "only an identity with the admin role may assign roles" in html
    assert 'role="alert"' in html
    assert service.login(pymap_server, user.name, password=user.password)
    assert AuditEvent.objects.get(action="password-change").outcome == "NotAllowedError"


@pytest.mark.backends("dict", "redis")  # maildir: an admin-role user has no rights over others
def test_an_admin_changing_their_own_password_stays_signed_in(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = signed_in_admin_user(client, pymap_user)
    old_token = session_operator(client).token
    assert change(client, admin.name, current=admin.password).status_code == 302
    new_token = session_operator(client).token
    assert new_token != old_token
    assert session_operator(client).is_admin is True
    assert service.get_user(pymap_server, new_token, admin.name).is_admin
    assert client.get("/users/").status_code == 200


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("seven77", "seven77", "at least 8 characters"),
        (NEW, NEW + "!", "The two passwords differ"),
        ("", "", "Enter the new password."),
    ],
)
def test_bad_new_passwords_change_nothing(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    password: str,
    again: str,
    message: str,
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("bad")
    response = change(client, target.name, password, again)
    assert response.status_code == 400
    assert message in page(response)
    assert service.login(pymap_server, target.name, password=target.password)
    assert not AuditEvent.objects.filter(action="password-change").exists()


def test_minimum_length_follows_the_setting(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, settings: DjangoSettings
) -> None:
    settings.PANEL_PASSWORD_MIN_LENGTH = 20
    signed_in_admin(client, pymap_user)
    target = pymap_user("min")
    response = change(client, target.name, "nineteen characters")
    assert "at least 20 characters" in page(response)
    assert change(client, target.name, "twenty characters!!!").status_code == 302


def test_a_200_character_pasted_password_works(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("long")
    pasted = ("Tr0ub4dor&3 correct horse " * 8)[:200]
    assert change(client, target.name, pasted).status_code == 302
    assert service.login(pymap_server, target.name, password=pasted)


def test_password_change_for_an_unknown_user_is_a_404(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    assert change(client, "no-such-user-pw").status_code == 404


def test_changing_your_own_password_needs_the_current_one(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """ASVS 2.1.6: an unattended session cannot take the account for good."""
    user = pymap_user("own")
    sign_in(client, user)
    assert 'for="id_current_password"' in page(client.get(user_url("users:password", user.name)))
    missing = change(client, user.name)
    assert missing.status_code == 400
    assert "Enter your current password." in page(missing)
    wrong = change(client, user.name, current="not my password")
    assert wrong.status_code == 400
    assert "This is not your current password. Nothing was changed." in page(wrong)
    assert "not my password" not in page(wrong)
    assert service.login(pymap_server, user.name, password=user.password)
    assert FailedSignIn.objects.filter(user_name=user.name).count() == 1
    assert change(client, user.name, current=user.password).status_code == 302
    assert service.login(pymap_server, user.name, password=NEW)


def test_wrong_current_passwords_are_throttled_like_sign_ins(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, settings: DjangoSettings
) -> None:
    settings.PANEL_SIGN_IN_LIMIT_PER_USER = 2
    user = pymap_user("guessed")
    sign_in(client, user)
    for _ in range(2):
        assert change(client, user.name, current="a guess").status_code == 400
    throttled = change(client, user.name, current=user.password)
    assert throttled.status_code == 429
    assert throttled["Retry-After"]
    assert "Too many failed sign-ins" in page(throttled)
    assert service.login(pymap_server, user.name, password=user.password)  # unchanged


def test_an_admin_changing_someone_elses_password_is_not_asked_theirs(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    target = pymap_user("theirs")
    assert 'id="id_current_password"' not in page(
        client.get(user_url("users:password", target.name))
    )
