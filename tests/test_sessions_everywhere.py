"""Ending a user's other panel sessions (issue 17, point 2).

pymap keeps old login tokens valid after a password change (dict and
maildir), so without the panel's help a changed password left every other
session of that user running. Against the real pymap (dict backend).
"""

from __future__ import annotations

import pytest
from django.test import Client

from adminpanel.accounts.models import OperatorSession
from adminpanel.audit.models import Action, AuditEvent
from adminpanel.bulk.models import PlanState, RowState
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer

from .support.bulk import apply_now, csv_bytes, upload_plan
from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import MakeUser, PymapUser
from .support.users import edit_post, page, signed_in_admin, user_url

pytestmark = pytest.mark.django_db

NEW = "a brand new passphrase"
EVERYWHERE = "/accounts/sign-out-everywhere/"


def signed_in(user: PymapUser, act_as: str = "") -> Client:
    client = Client()
    sign_in(client, user, act_as=act_as)
    return client


def alive(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert response["Location"].startswith(SIGN_IN)
        return False
    assert response.status_code == 200
    return True


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_an_admins_password_change_ends_every_session_of_that_user(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    laptop, phone = signed_in(user), signed_in(user)
    operator = pymap_user("operator", roles=["admin"])
    admin = signed_in(operator)
    response = admin.post(
        user_url("users:password", user.name),
        {"new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert f"2 panel sessions of {user.name} elsewhere were signed out." in page(response)
    assert not alive(laptop)
    assert not alive(phone)
    assert alive(admin)
    event = AuditEvent.objects.get(action=Action.SESSIONS_END)
    assert (event.target, event.identity_name) == (user.name, operator.name)
    assert event.detail == "2 panel sessions ended: password changed in the panel"


def test_changing_your_own_password_ends_your_other_sessions_but_not_this_one(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    here, elsewhere = signed_in(user), signed_in(user)
    response = here.post(
        user_url("users:password", user.name),
        {"current_password": user.password, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    html = page(response)
    assert "Your password was changed. You stay signed in." in html
    assert f"1 panel session of {user.name} elsewhere was signed out." in html
    assert alive(here)
    assert not alive(elsewhere)


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_a_password_set_in_the_edit_form_ends_the_users_sessions(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    theirs = signed_in(user)
    admin = signed_in(pymap_user("operator", roles=["admin"]))
    form = page(admin.get(user_url("users:edit", user.name)))
    saved = admin.post(
        user_url("users:edit", user.name),
        edit_post(form, roles=("editor",), action="new", new=NEW),
        follow=True,
    )
    assert f"1 panel session of {user.name} elsewhere was signed out." in page(saved)
    assert not alive(theirs)


@pytest.mark.django_db(transaction=True)  # the worker's threads use their own connections
@pytest.mark.usefixtures("mail_spool")
def test_a_bulk_update_that_sets_a_password_ends_the_users_sessions(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    theirs = signed_in(user)
    operator = signed_in_admin(client, pymap_user)
    plan = upload_plan(client, csv_bytes([[user.name, NEW, "", "", "update"]]))
    plan = apply_now(client, plan)
    assert plan.state == PlanState.FINISHED, plan.stop_reason
    assert [row.state for row in plan.rows.all()] == [RowState.APPLIED]
    assert not alive(theirs)
    event = AuditEvent.objects.get(action=Action.SESSIONS_END)
    assert (event.target, event.operator) == (user.name, operator)
    assert event.detail == "1 panel session ended: password changed in the panel"
    assert alive(client)


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_a_password_change_says_nothing_more_when_there_was_no_other_session(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    admin = signed_in(pymap_user("operator", roles=["admin"]))
    response = admin.post(
        user_url("users:password", user.name),
        {"new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    html = page(response)
    assert f"The password of {user.name} was changed.</span>" in html
    assert "elsewhere" not in html


def test_sign_out_everywhere_from_your_own_page(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    here, elsewhere = signed_in(user), signed_in(user)
    own_page = page(here.get(user_url("users:detail", user.name)))
    assert "Sign out everywhere</button>" in own_page
    response = here.post(EVERYWHERE, {"name": user.name}, follow=True)
    assert response.redirect_chain[-1][0] == SIGN_IN
    assert f"You signed out everywhere: 2 panel sessions of {user.name} ended." in page(response)
    assert not alive(here)
    assert not alive(elsewhere)
    # Nothing of the old session was written back (no "session deleted" error).
    assert response.status_code == 200


@pytest.mark.backends("dict", "redis")  # maildir: only the admin token acts on others
def test_an_admin_signs_any_user_out_everywhere_but_not_others_acting_as_it(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    other_admin = pymap_user("other", roles=["admin"])
    theirs = signed_in(user)
    acting_as_user = signed_in(other_admin, act_as=user.name)
    admin = signed_in(pymap_user("operator", roles=["admin"]))
    user_page = page(admin.get(user_url("users:detail", user.name)))
    assert f"Sign {user.name} out everywhere</button>" in user_page
    response = admin.post(EVERYWHERE, {"name": user.name}, follow=True)
    assert f"Signed {user.name} out everywhere: 1 panel session ended." in page(response)
    assert not alive(theirs)
    assert alive(acting_as_user)  # that is the other admin's session
    assert alive(admin)


def test_without_the_admin_role_only_your_own_sessions(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, victim = pymap_user(), pymap_user()
    victims = signed_in(victim)
    mine = signed_in(user)
    refused = mine.post(EVERYWHERE, {"name": victim.name})
    assert refused.status_code == 403
    assert alive(victims)
    assert mine.post(EVERYWHERE, {"name": "bad name"}).status_code == 400
    assert mine.get(EVERYWHERE).status_code == 405


def test_each_session_is_indexed_until_it_ends(
    pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user()
    client = signed_in(user)
    row = OperatorSession.objects.get(session_id=client.session.session_key)
    assert (row.identity_kind, row.identity_name, row.server) == (
        "user",
        user.name,
        pymap_server.name,
    )
    client.post("/accounts/sign-out/")
    assert not OperatorSession.objects.filter(identity_name=user.name).exists()


@pytest.mark.backends("dict", "maildir")  # redis: any SetUser ends the user's tokens
def test_the_old_password_still_opens_pymap_which_is_why_the_panel_ends_sessions(
    pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    """What the panel cannot see: pymap keeps a login token valid after its
    user's password changed (dict backend, 0.36.7)."""
    user = pymap_user()
    token = service.login(pymap_server, user.name, password=user.password)
    tag = service.get_user(pymap_server, admin_login_token, user.name).entity_tag
    service.set_user(
        pymap_server, admin_login_token, user.name, password=NEW, previous_entity_tag=tag
    )
    assert service.get_user(pymap_server, token, user.name).name == user.name
