"""service.may_act_on_others: the server's own answer to "may this token act
on other users?", against a real pymap."""

from __future__ import annotations

import pytest

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer

from .support.pymap_users import MakeUser


def test_the_admin_token_may_act_on_others(pymap_server: PymapServer, admin_token: str) -> None:
    assert service.may_act_on_others(pymap_server, admin_token)


@pytest.mark.backends("dict", "redis")
def test_an_admin_role_users_login_token_may_act_on_others(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    admin = pymap_user("admin", roles=["admin"])
    token = service.login(pymap_server, admin.name, password=admin.password)
    assert service.may_act_on_others(pymap_server, token)


@pytest.mark.backends("maildir")
def test_on_maildir_an_admin_role_users_login_token_may_not(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """maildir freezes a token's roles before it reads the group file (PYMAP.md)."""
    admin = pymap_user("admin", roles=["admin"])
    token = service.login(pymap_server, admin.name, password=admin.password)
    assert not service.may_act_on_others(pymap_server, token)


def test_a_plain_users_login_token_may_not(pymap_server: PymapServer, pymap_user: MakeUser) -> None:
    user = pymap_user("plain")
    token = service.login(pymap_server, user.name, password=user.password)
    assert not service.may_act_on_others(pymap_server, token)


def test_a_deleted_users_token_is_refused(
    pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    user = pymap_user("gone")
    token = service.login(pymap_server, user.name, password=user.password)
    service.delete_user(pymap_server, admin_login_token, user.name)
    with pytest.raises(Refused) as caught:
        service.may_act_on_others(pymap_server, token)
    assert caught.value.is_(RefusalKey.INVALID_AUTH)
