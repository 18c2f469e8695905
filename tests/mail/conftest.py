"""Fixtures of the mail tests: an operator delivering or importing into their
own mailbox, and one who may act on every user's."""

from __future__ import annotations

import pytest
from django.test import Client

from adminpanel.pymap.servers import PymapServer

from ..support.panel_client import sign_in
from ..support.pymap_users import MakeUser, PymapUser
from ..support.users import signed_in_admin


@pytest.fixture
def owner(pymap_server: PymapServer, pymap_user: MakeUser, client: Client) -> PymapUser:
    """A user without the admin role, signed in, acting on their own mailbox."""
    user = pymap_user("owner")
    sign_in(client, user)
    return user


@pytest.fixture
def admin(pymap_server: PymapServer, pymap_user: MakeUser, client: Client) -> str:
    """An operator who may deliver to every user (the admin token on maildir);
    the name the audit log gives it."""
    return signed_in_admin(client, pymap_user)
