"""Names, roles and params the panel refuses before any RPC.

The scripted fake records every request it gets, so an empty recording
proves that nothing reached the server; one test repeats the check against
the real pymap (the user does not exist afterwards).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from adminpanel.pymap.servers import PymapServer

from .support.fake_pymap import Recorder
from .support.pymap_users import MakeUser
from .support.users import CREATE, create_post, page, params_post, signed_in_admin, user_url

pytestmark = pytest.mark.django_db

BAD_NAMES = {
    "space": "two words",
    "leading space": " alice",
    "tab": "tab\there",
    "CR": "carriage\rreturn",
    "LF": "line\nfeed",
    "CRLF": "header\r\nInjection: yes",
    "NUL": "nul\x00byte",
    "300 characters": "x" * 300,
    "empty": "",
    "zero-width joiner": "ali\u200dce",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_create_refuses_bad_names_without_any_rpc(
    fake_admin: Client, recorder: Recorder, name: str
) -> None:
    response = fake_admin.post(CREATE, create_post(name))
    assert response.status_code == 400
    assert 'class="field-error"' in page(response)
    assert recorder.requests == []


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
@pytest.mark.parametrize("view", ["users:detail", "users:edit", "users:password", "users:delete"])
def test_user_pages_refuse_bad_names_in_the_address_without_any_rpc(
    fake_admin: Client, recorder: Recorder, name: str, view: str
) -> None:
    url = user_url(view, name)
    responses = [fake_admin.get(url)]
    if view != "users:detail":  # the user page is read-only (GET)
        responses.append(fake_admin.post(url, {}))
    for response in responses:
        assert response.status_code == 400
        assert "does not name a valid user" in page(response)
    assert recorder.requests == []


# The search box drops spaces around a pasted name, so " alice" is looked up
# as "alice"; every other bad name is refused.
LOOKUP_BAD_NAMES = {key: name for key, name in BAD_NAMES.items() if key != "leading space"}


@pytest.mark.parametrize("name", LOOKUP_BAD_NAMES.values(), ids=LOOKUP_BAD_NAMES.keys())
def test_lookup_refuses_bad_names_without_any_rpc(
    fake_admin: Client, recorder: Recorder, name: str
) -> None:
    response = fake_admin.get("/users/lookup/", {"name": name})
    assert response.status_code == 400
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("other_roles", "good\nwith space", "A role cannot contain spaces"),
        ("other_roles", "bell\x07", "A role cannot contain control characters"),
        ("other_roles", "r" * 256, "A role can be at most 255 characters"),
        ("params-0-key", "bad key", "A parameter name cannot contain spaces"),
        ("params-0-key", "k\x00", "A parameter name cannot contain control characters"),
        ("params-0-value", "v\x00", "A value cannot contain NUL characters"),
        ("params-0-value", "v" * 4097, "A value can be at most 4096 characters"),
    ],
)
def test_bad_roles_and_params_are_refused_without_any_rpc(
    fake_admin: Client, recorder: Recorder, field: str, value: str, message: str
) -> None:
    data = create_post("good-name", params={"key": "value"})
    data[field] = value
    response = fake_admin.post(CREATE, data)
    assert response.status_code == 400
    assert message in page(response)
    assert recorder.requests == []


def test_too_many_parameter_rows_are_refused_without_any_rpc(
    fake_admin: Client, recorder: Recorder
) -> None:
    data = create_post("good-name")
    data.update(params_post({f"k{index}": "v" for index in range(101)}))
    response = fake_admin.post(CREATE, data)
    assert response.status_code == 400
    assert recorder.requests == []


@pytest.mark.parametrize("name", ["two words", "cr\r\nlf", "nul\x00", "y" * 300])
def test_a_refused_name_never_reaches_the_real_server(
    client: Client,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    admin_token: str,
    name: str,
) -> None:
    signed_in_admin(client, pymap_user)
    assert client.post(CREATE, create_post(name)).status_code == 400
    with pytest.raises(Refused) as caught:
        service.get_user(pymap_server, admin_token, name)
    assert caught.value.is_(RefusalKey.USER_NOT_FOUND)


def test_the_recorder_does_see_a_valid_create(fake_admin: Client, recorder: Recorder) -> None:
    """The control for the tests above: a valid form does reach the fake."""
    from adminpanel.pymap.generated import admin_pb2

    def set_user(request: Any) -> Any:
        return admin_pb2.UserResponse(user=request.user, entity_tag=1)

    recorder.behaviour["SetUser"] = set_user
    response = fake_admin.post(CREATE, create_post("good-name"))
    assert response.status_code == 302
    # The write, then the read-back of what was stored (the fake has no record).
    assert [name for name, _, _ in recorder.requests] == ["SetUser", "GetUser"]
    method, request, metadata = recorder.requests[0]
    assert method == "SetUser"
    assert request.user == "good-name"
    assert request.overwrite is False
    assert not request.HasField("previous_entity_tag")
    assert metadata["auth-token"] == "fake-token"
