"""What the session may do is re-checked with pymap (issue 17, point 1).

The session keeps the admin flag it got at sign-in; pymap may take the role
away or delete the user meanwhile. Pages of other operators' data ask pymap
before they show anything, every page asks at least once a minute, and a
session whose token pymap refuses ends. Against the real pymap; the fake
only counts how often the admin token is asked.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.accounts.rights_check import RECHECK_SECONDS, ROLE_LOST
from adminpanel.accounts.session import from_stored, to_stored
from adminpanel.audit.models import Action, AuditEvent
from adminpanel.mail import spool
from adminpanel.mail.models import ImportJob, JobState
from adminpanel.pymap import service
from adminpanel.pymap.generated import admin_pb2
from adminpanel.pymap.servers import PymapServer
from adminpanel.users.models import LastAction, RecentUser

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.mail import IMPORT, message, run, upload
from .support.panel_client import (
    SIGN_IN,
    operator_entry,
    session_operator,
    sign_in,
    signed_in_anywhere,
)
from .support.pymap_users import MakeUser, PymapUser
from .support.users import fake_session

pytestmark = pytest.mark.django_db

AUDIT = "/audit/"


def remove_admin_role(server: PymapServer, token: str, user: PymapUser) -> None:
    """What an admin does with pymap-admin: the same user, without the role."""
    current = service.get_user(server, token, user.name)
    service.set_user(
        server,
        token,
        user.name,
        password=user.password,
        roles=(),
        previous_entity_tag=current.entity_tag,
    )


def age_check(client: Client, seconds: float) -> None:
    """Pretend pymap was last asked ``seconds`` ago."""
    session = client.session
    entry = operator_entry(session)
    operator = from_stored(session[entry])
    assert operator is not None
    stored = to_stored(operator)
    stored["powers_checked_at"] = time.time() - seconds
    session[entry] = stored
    session.save()


@pytest.fixture
def admin(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> PymapUser:
    user = pymap_user("operator", roles=["admin"])
    sign_in(client, user)
    return user


# maildir: the role gives no rights over others; redis: the SetUser that changes
# the role ends the session altogether (test_backends.py).
@pytest.mark.backends("dict")
def test_losing_the_admin_role_hides_the_whole_audit_log_at_once(
    client: Client, admin: PymapUser, pymap_server: PymapServer, admin_login_token: str
) -> None:
    AuditEvent.objects.create(
        operator="someone-else", identity_kind="user", identity_name="someone-else",
        server=pymap_server.name, action=Action.USER_EDIT, outcome="ok", target="others-event",
    )  # fmt: skip
    assert "others-event" in client.get(AUDIT).content.decode()
    remove_admin_role(pymap_server, admin_login_token, admin)
    page = client.get(AUDIT).content.decode()
    assert "others-event" not in page
    assert "Your own actions" in page
    assert ROLE_LOST in page
    assert b"others-event" not in client.get(AUDIT + "export.csv").getvalue()
    assert session_operator(client).is_admin is False


# maildir: the role gives no rights over others; redis: the SetUser that changes
# the role ends the session altogether (test_backends.py).
@pytest.mark.backends("dict")
def test_losing_the_admin_role_hides_the_recent_users_list(
    client: Client, admin: PymapUser, pymap_server: PymapServer, admin_login_token: str
) -> None:
    RecentUser.objects.create(
        server=pymap_server.name,
        name="someone-viewed",
        last_action=LastAction.VIEWED,
        last_seen="2026-01-01T00:00Z",
    )
    assert "someone-viewed" in client.get("/users/").content.decode()
    remove_admin_role(pymap_server, admin_login_token, admin)
    assert "someone-viewed" not in client.get("/users/").content.decode()


# maildir: the role gives no rights over others; redis: the SetUser that changes
# the role ends the session altogether (test_backends.py).
@pytest.mark.backends("dict")
@pytest.mark.usefixtures("mail_spool")
def test_losing_the_admin_role_ends_access_to_other_operators_imports(
    pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    owner, admin = pymap_user("importer"), pymap_user("operator", roles=["admin"])
    owners, admins = Client(), Client()
    sign_in(owners, owner)
    sign_in(admins, admin)
    upload(owners, owner.name, [("a.eml", message(1))], mailbox="Missing")
    job = run(ImportJob.objects.get())
    assert job.state == JobState.FAILED
    assert job.upload_kept
    pages = [
        f"{IMPORT}{job.pk}/",
        f"{IMPORT}{job.pk}/progress.json",
        f"{IMPORT}{job.pk}/report.csv",
        f"{IMPORT}{job.pk}/discard/",
    ]
    assert [admins.get(url).status_code for url in pages] == [200, 200, 200, 200]
    remove_admin_role(pymap_server, admin_login_token, admin)
    assert [admins.get(url).status_code for url in pages] == [404, 404, 404, 404]
    # Irreversible: discarding another operator's upload is refused too.
    assert admins.post(f"{IMPORT}{job.pk}/discard/").status_code == 404
    job.refresh_from_db()
    assert job.upload_kept
    assert spool.import_directory(job.spool_name).exists()
    assert f"{IMPORT}{job.pk}/" not in admins.get(IMPORT).content.decode()


# maildir: the role gives no rights over others; redis: the SetUser that changes
# the role ends the session altogether (test_backends.py).
@pytest.mark.backends("dict")
def test_other_pages_notice_a_lost_role_within_a_minute(
    client: Client, admin: PymapUser, pymap_server: PymapServer, admin_login_token: str
) -> None:
    remove_admin_role(pymap_server, admin_login_token, admin)
    # The dashboard shows nothing of others': within the minute it is not asked...
    assert '<span class="badge">admin role</span>' in client.get("/").content.decode()
    age_check(client, RECHECK_SECONDS + 1)
    # ...and after it, the flag follows the server on any page.
    page = client.get("/").content.decode()
    assert '<span class="badge">admin role</span>' not in page
    assert ROLE_LOST in page
    assert time.time() - session_operator(client).powers_checked_at < 5


@pytest.mark.backends("dict", "redis")  # maildir: the role gives no admin flag to re-check
def test_a_deleted_users_session_ends(
    client: Client, admin: PymapUser, pymap_server: PymapServer, admin_login_token: str
) -> None:
    service.delete_user(pymap_server, admin_login_token, admin.name)
    response = client.get(AUDIT, follow=True)
    assert response.redirect_chain[0][0].startswith(SIGN_IN)
    assert "no longer accepts your session" in response.content.decode()
    assert not signed_in_anywhere(client.session)


# maildir: the role gives no rights over others; redis: the SetUser that changes
# the role ends the session altogether (test_backends.py).
@pytest.mark.backends("dict")
def test_a_user_given_the_admin_role_gets_it_within_a_minute(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, admin_login_token: str
) -> None:
    user = pymap_user()
    sign_in(client, user)
    current = service.get_user(pymap_server, admin_login_token, user.name)
    service.set_user(
        pymap_server, admin_login_token, user.name, password=user.password,
        roles=["admin"], previous_entity_tag=current.entity_tag,
    )  # fmt: skip
    age_check(client, RECHECK_SECONDS + 1)
    assert '<span class="badge">admin role</span>' in client.get("/").content.decode()


# --- what it costs -----------------------------------------------------------------


@pytest.fixture
def fake(client: Client, monkeypatch: pytest.MonkeyPatch, settings: DjangoSettings) -> Recorder:
    """The admin token's session, against a fake that answers the probe."""
    recorder = Recorder()
    server = fake_pymap.install(monkeypatch, recorder)
    settings.PYMAP_SERVER = server
    recorder.behaviour["GetUser"] = lambda request: admin_pb2.UserResponse(
        result=fake_pymap.failure("UserNotFound")
    )
    fake_session(client, server, name=None, admin=True)
    return recorder


def probes(recorder: Recorder) -> int:
    return sum(
        1 for name, request, _ in recorder.requests if name == "GetUser" and not request.user
    )


def test_the_admin_token_is_asked_once_a_minute_not_on_every_page(
    client: Client, fake: Recorder
) -> None:
    """Every call with the admin token costs about 300 ms on a real server."""
    age_check(client, 0)
    for _ in range(5):
        assert client.get(AUDIT).status_code == 200
    assert probes(fake) == 0
    age_check(client, RECHECK_SECONDS + 1)
    for _ in range(5):
        assert client.get(AUDIT).status_code == 200
    assert probes(fake) == 1


def test_a_login_token_with_the_admin_flag_is_asked_before_each_page_of_others_data(
    client: Client, fake: Recorder, settings: DjangoSettings
) -> None:
    fake_session(client, settings.PYMAP_SERVER, name="operator", admin=True)
    age_check(client, 0)
    client.get(AUDIT)
    client.get(AUDIT + "export.json")
    client.get("/users/")
    assert probes(fake) == 3
    client.get("/mail/deliver/")  # not a page of others' data: not asked
    assert probes(fake) == 3


def test_when_pymap_cannot_answer_others_data_is_not_shown(
    client: Client, fake: Recorder, settings: DjangoSettings
) -> None:
    fake_session(client, settings.PYMAP_SERVER, name="operator", admin=True)
    AuditEvent.objects.create(
        operator="someone-else", identity_kind="user", identity_name="someone-else",
        server=settings.PYMAP_SERVER.name, action=Action.USER_EDIT, outcome="ok",
        target="others-event",
    )  # fmt: skip
    fake.behaviour["GetUser"] = fake_pymap.hang
    page: Any = client.get(AUDIT)
    html = page.content.decode()
    assert page.status_code == 200
    assert "others-event" not in html
    assert "could not confirm that you may act on other users" in html
    # Nothing was stored: the next page asks again.
    assert session_operator(client).is_admin is True
