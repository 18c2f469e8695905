"""Issuing tokens through the browser's pages, on every backend: the token
works with pymap-admin until its expiry and not after; act-as limits it to one
user; only a session that may act on others issues for others; the token is
in no log, no audit row and no URL (issue 13, point 1)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from django.test import Client

from adminpanel.audit.models import Action, AuditEvent
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.tokens import read_token
from devtools.pymap_process import PymapProcess

from .support.logs import everything_logged
from .support.panel_client import SIGN_IN, sign_in
from .support.pymap_users import MakeUser
from .support.tokens import refusal, shown_token, works
from .support.users import page, signed_in_admin

pytestmark = pytest.mark.django_db

ISSUE = "/tokens/"


def _issue(client: Client, **fields: str) -> tuple[int, str]:
    data = {"lifetime": "1", "unit": "hours", "act_as": "", **fields}
    response = client.post(ISSUE, data)
    return response.status_code, page(response)


def _audit_text() -> str:
    return "\n".join(
        " ".join(str(value) for value in row)
        for row in AuditEvent.objects.values_list(
            "operator", "target", "outcome", "detail", "changed_fields"
        )
    )


def _wait_past(expires_at: datetime) -> None:
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 1.0)


def test_an_own_token_works_with_pymap_admin_until_it_expires_and_never_leaks(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    user = pymap_user("holder")
    sign_in(client, user)
    status, text = _issue(client, password=user.password, lifetime="5", unit="seconds")
    assert status == 200, text[:3000]
    token = shown_token(text)
    details = read_token(token)
    assert details.authcid == user.name
    assert details.expires_at is not None
    assert "cannot be revoked" in text
    assert "Copy token" in text

    assert works(pymap, token, user.name), "the issued token should work before its expiry"
    _wait_past(details.expires_at)
    assert "InvalidAuth" in refusal(pymap, token, user.name)

    # Audited: who for whom, expiry, caveats, identifier; never the token.
    event = AuditEvent.objects.get(action=Action.TOKEN_ISSUE, target=user.name)
    assert event.outcome == "ok"
    assert event.operator == user.name
    assert details.identifier in event.detail
    assert details.expires_at.isoformat() in event.detail
    assert "time <" in event.detail
    assert token not in _audit_text()
    assert token not in everything_logged(caplog)
    assert user.password not in everything_logged(caplog)


def test_the_token_page_is_never_stored_and_the_token_is_never_in_a_url(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("holder")
    sign_in(client, user)
    response = client.post(
        ISSUE, {"password": user.password, "lifetime": "5", "unit": "minutes", "act_as": ""}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = shown_token(page(response))
    assert "Location" not in response
    assert token not in str(client.session.items())
    # The page shows it once: the issue page after it holds no token.
    assert token not in page(client.get(ISSUE))


def test_a_wrong_password_issues_nothing(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("holder")
    sign_in(client, user)
    status, text = _issue(client, password="not-the-password")
    assert status == 400
    assert "This is not your current password. No token was issued." in text
    assert 'id="issued-token"' not in text
    event = AuditEvent.objects.get(action=Action.TOKEN_ISSUE, target=user.name)
    assert event.outcome == "InvalidAuth"


@pytest.mark.backends("dict", "redis")
def test_an_admin_issues_for_another_user_and_act_as_limits_it_to_that_user(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """A helpdesk token: an admin-role user's, narrowed with act-as, works on
    that user only (on maildir an admin-role login token never acts on others;
    the narrowing tests cover it with the admin token)."""
    signed_in_admin(client, pymap_user)
    helpdesk = pymap_user("helpdesk", roles=["admin"])
    target, other = pymap_user("target"), pymap_user("other")
    status, text = _issue(
        client, user=helpdesk.name, act_as=target.name, lifetime="15", unit="minutes"
    )
    assert status == 200, text[:3000]
    token = shown_token(text)
    details = read_token(token)
    assert details.authcid == helpdesk.name
    assert details.authzid == target.name
    assert works(pymap, token, target.name)
    assert works(pymap, helpdesk_token_unlimited(pymap, helpdesk.name), other.name)
    # The caveat fails verification: InvalidAuth, not AuthorizationFailure.
    assert "InvalidAuth" in refusal(pymap, token, other.name)
    assert AuditEvent.objects.get(action=Action.TOKEN_ISSUE, target=helpdesk.name).outcome == "ok"


def helpdesk_token_unlimited(pymap: PymapProcess, name: str) -> str:
    """A login token of ``name`` without caveats (that the refusal is the caveat's)."""
    return service.login(pymap.server(), name, token=pymap.admin_token)


def test_a_token_for_a_user_that_does_not_exist_is_refused_clearly(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """dict would issue one (maildir and redis answer UserNotFound): never."""
    signed_in_admin(client, pymap_user)
    status, text = _issue(client, user="nobody-7c1e5a9d")
    assert status == 404
    assert (
        "The mail server has no user named &#x27;nobody-7c1e5a9d&#x27;: no token was issued."
        in text
    )
    assert 'id="issued-token"' not in text


def test_without_rights_over_others_only_an_own_token_is_issued(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, other = pymap_user("plain"), pymap_user("other")
    sign_in(client, user)
    form = page(client.get(ISSUE))
    assert 'name="password"' in form
    assert 'name="user"' not in form
    status, text = _issue(client, user=other.name, password=user.password)
    assert status == 403
    assert "needs the admin role" in text
    assert 'id="issued-token"' not in text
    assert not AuditEvent.objects.filter(action=Action.TOKEN_ISSUE, target=other.name).exists()


@pytest.mark.backends("maildir")
def test_on_maildir_an_admin_role_user_with_a_password_issues_only_their_own(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """The server lets only its admin token act on other users there."""
    admin = pymap_user("operator", roles=["admin"])
    sign_in(client, admin)
    form = page(client.get(ISSUE))
    assert 'name="password"' in form
    assert 'name="user"' not in form


def test_the_lifetime_is_bounded_by_the_setting(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, settings: object
) -> None:
    settings.PANEL_TOKEN_MAX_SECONDS = 7200  # type: ignore[attr-defined]
    user = pymap_user("holder")
    sign_in(client, user)
    status, text = _issue(client, password=user.password, lifetime="3", unit="hours")
    assert status == 400
    assert "at most 2 hours (PANEL_TOKEN_MAX_SECONDS); 3 hours is longer" in text
    status, text = _issue(client, password=user.password, lifetime="0", unit="hours")
    assert status == 400
    assert 'id="issued-token"' not in text


def test_an_admin_token_session_issues_for_any_user(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    client.post(SIGN_IN, {"method": "token", "token": pymap.admin_token})
    target = pymap_user("target")
    status, text = _issue(client, user=target.name, lifetime="10", unit="minutes")
    assert status == 200, text[:3000]
    token = shown_token(text)
    assert works(pymap, token, target.name)
    assert pymap.admin_token not in text
    event = AuditEvent.objects.get(action=Action.TOKEN_ISSUE, target=target.name)
    assert event.operator == "admin token"
