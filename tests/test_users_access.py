"""What each identity is offered, and how refusals and faults read."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from grpclib.const import Status

from adminpanel.audit.models import AuditEvent
from adminpanel.pymap.errors import Refused
from adminpanel.pymap.generated import admin_pb2
from adminpanel.pymap.servers import PymapServer
from adminpanel.web.errors import PymapErrorMiddleware

from .support import fake_pymap
from .support.fake_pymap import Recorder
from .support.pymap_users import MakeUser
from .support.users import CREATE, create_post, edit_post, page, sign_in, user_url

pytestmark = pytest.mark.django_db


def test_without_the_admin_role_only_the_own_page_and_password_are_offered(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user = pymap_user("plain")
    sign_in(client, user)
    dashboard = page(client.get("/"))
    assert 'id="user-search-name"' not in dashboard  # no lookup of other users
    html = page(client.get(user_url("users:detail", user.name)))
    assert f'href="{user_url("users:password", user.name)}"' in html
    assert user_url("users:edit", user.name) not in html
    assert user_url("users:delete", user.name) not in html
    index = page(client.get(reverse("users:index")))
    assert reverse("users:create") not in index
    assert "Your account" in index


def test_another_users_page_by_url_is_a_clear_403(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    user, other = pymap_user("plain"), pymap_user("other")
    sign_in(client, user)
    response = client.get(user_url("users:detail", other.name))
    assert response.status_code == 403
    html = page(response)
    assert "<h1>Not allowed</h1>" in html
    assert f"The mail server refused to let {user.name} act on the user" in html
    assert "Without the admin role you may act only on your own account" in html
    assert 'role="alert"' in html


@pytest.mark.parametrize("view", ["users:edit", "users:delete"])
def test_admin_only_pages_by_url_are_a_clear_403(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, view: str
) -> None:
    user, other = pymap_user("plain"), pymap_user("other")
    sign_in(client, user)
    response = client.get(user_url(view, other.name))
    assert response.status_code == 403
    assert "needs the admin role" in page(response)


def test_the_generic_authorization_failure_page_reads_well(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    """What PymapErrorMiddleware shows when a view lets AuthorizationFailure through."""
    sign_in(client, pymap_user("plain"))
    request = client.get("/").wsgi_request
    refusal = Refused(
        "AuthorizationFailure", "GetUser NO [AUTHORIZATIONFAILED] Authorization failed."
    )
    response = PymapErrorMiddleware(lambda request: HttpResponse()).process_exception(
        request, refusal
    )
    assert response is not None
    assert response.status_code == 403
    html = page(response)
    assert "<h1>Not allowed</h1>" in html
    assert "You are not authorized to act on this user." in html
    assert "AUTHORIZATIONFAILED" not in html


# --- faults only a fake can produce ------------------------------------------------


def test_a_timeout_while_creating_keeps_the_form_and_says_the_outcome_is_unknown(
    fake_admin: Client, recorder: Recorder
) -> None:
    recorder.behaviour["SetUser"] = fake_pymap.hang
    response = fake_admin.post(CREATE, create_post("slow-user", other_roles="editor"))
    assert response.status_code == 504
    html = page(response)
    assert "did not answer" in html
    assert "It is not known whether the change was made" in html
    assert 'value="slow-user"' in html
    assert "editor" in html
    assert AuditEvent.objects.get(action="user-create").outcome == "ServerTimeout"


def test_an_unknown_refusal_while_creating_is_a_form_error(
    fake_admin: Client, recorder: Recorder
) -> None:
    recorder.behaviour["SetUser"] = lambda request: admin_pb2.UserResponse(
        result=fake_pymap.failure("QuotaExceededSomehow")
    )
    response = fake_admin.post(CREATE, create_post("quota-user"))
    assert response.status_code == 422
    assert "QuotaExceededSomehow" in page(response)
    assert "Nothing was changed" in page(response)
    assert AuditEvent.objects.get(action="user-create").outcome == "QuotaExceededSomehow"


def test_a_server_fault_on_the_user_page_is_an_error_page_not_a_traceback(
    fake_admin: Client, recorder: Recorder
) -> None:
    recorder.behaviour["GetUser"] = fake_pymap.grpc_error(Status.UNKNOWN, "boom")
    response = fake_admin.get(user_url("users:detail", "alice"))
    assert response.status_code == 502
    assert "Traceback" not in page(response)


def test_invalid_auth_while_saving_signs_the_operator_out(
    fake_admin: Client, recorder: Recorder
) -> None:
    recorder.behaviour["GetUser"] = _fake_user
    recorder.behaviour["Login"] = lambda request: admin_pb2.LoginResponse(bearer_token="t")
    recorder.behaviour["SetUser"] = lambda request: admin_pb2.UserResponse(
        result=fake_pymap.failure("InvalidAuth")
    )
    url = user_url("users:edit", "alice")
    data = edit_post(page(fake_admin.get(url)), roles=("editor",), current="pw")
    response = fake_admin.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


def _fake_user(request: Any) -> Any:
    return admin_pb2.UserResponse(
        user=request.user, entity_tag=5, data=admin_pb2.UserData(password="$pbkdf2-sha256$x")
    )


def test_a_timeout_while_checking_the_kept_password_keeps_the_form(
    fake_admin: Client, recorder: Recorder
) -> None:
    recorder.behaviour["GetUser"] = _fake_user
    recorder.behaviour["Login"] = fake_pymap.hang
    url = user_url("users:edit", "alice")
    data = edit_post(page(fake_admin.get(url)), roles=("editor",), params={"q": "1"}, current="pw")
    response = fake_admin.post(url, data)
    assert response.status_code == 504
    html = page(response)
    assert "did not answer" in html
    assert "editor" in html
    assert [method for method, _, _ in recorder.requests] == ["GetUser", "GetUser", "Login"]


def test_a_failing_re_read_after_a_conflict_keeps_the_form(
    fake_admin: Client, recorder: Recorder
) -> None:
    reads = iter([_fake_user, _fake_user, fake_pymap.grpc_error(Status.UNAVAILABLE, "gone")])
    recorder.behaviour["GetUser"] = lambda request: next(reads)(request)
    recorder.behaviour["Login"] = lambda request: admin_pb2.LoginResponse(bearer_token="t")
    recorder.behaviour["SetUser"] = lambda request: admin_pb2.UserResponse(
        result=fake_pymap.failure("CannotReplaceUser")
    )
    url = user_url("users:edit", "alice")
    data = edit_post(page(fake_admin.get(url)), roles=("editor",), current="pw")
    response = fake_admin.post(url, data)
    assert response.status_code == 503
    html = page(response)
    assert "nothing was saved" in html
    assert "editor" in html
    assert AuditEvent.objects.get(action="user-edit").outcome == "CannotReplaceUser"
