"""Delivering one message: what is refused before any call, and the faults
only the fake servicer can produce."""

from __future__ import annotations

import dataclasses
import imaplib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from adminpanel.pymap.generated import admin_pb2

from ..support import fake_pymap
from ..support.mail import (
    DELIVER,
    IMPORT,
    message,
)
from ..support.mail_flow import deliver, form, last_audit
from ..support.panel_client import session_operator
from ..support.pymap_users import PymapUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


# --- validation before any call -------------------------------------------------------


@pytest.fixture
def recorder(
    client: Client, owner: PymapUser, monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper
) -> fake_pymap.Recorder:
    """From here on the panel talks to a fake that records every call."""
    recorded = fake_pymap.Recorder()
    # Under the name of the server signed in to (sign-ins are per server).
    fake = fake_pymap.install(monkeypatch, recorded)
    # Its label (the fake's unique name) keeps its channel apart in the pool.
    settings.PYMAP_SERVER = dataclasses.replace(
        fake, name=settings.PYMAP_SERVER.name, label=fake.name
    )
    return recorded


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"user": "bad\nname"}, "control characters"),
        ({"user": ""}, "This field is required"),
        ({"mailbox": "INBOX\r\nX"}, "control characters"),
        ({"mailbox": "   "}, "Enter a mailbox name"),
        ({"keywords": "bad(flag"}, "is not an IMAP keyword"),
        ({"keywords": "caf\u00e9"}, "is not an IMAP keyword"),
        ({"keywords": "\\Recent"}, "\u201c\\Recent\u201d is not a flag a message can be given"),
        ({"keywords": "a\x07b"}, "a\\x07b"),  # repr shows the control character
        ({"flags": ["\\Recent"]}, "Select a valid choice"),
        ({"sender": "a@b\r\nRCPT TO:<x>"}, "line breaks"),
        ({"recipient": "a b@example.org"}, "cannot contain spaces"),
        ({"date": "1969-12-31T23:59:59"}, "before 1970"),
        ({"message_text": ""}, "Enter the sender&#x27;s address"),
        ({"source": "raw", "message_text": " "}, "Type or paste a message"),
        ({"source": "file"}, "but the Raw message box is filled in too: clear it"),
        ({"source": "kept"}, "Select a valid choice"),  # nothing was uploaded before
        ({"message_file": "both"}, "not both"),
        ({"source": "compose", "compose_from": "not an address"}, "Enter an address such as"),
        ({"source": "compose", "compose_from": "a@example.org, b@example.org"}, "one address"),
        ({"source": "compose", "compose_from": "a@example.org", "compose_to": "b@"}, "such as"),
        (
            {"source": "compose", "compose_from": "a@x.org", "compose_subject": "a\r\nBcc: x"},
            "cannot contain line breaks",
        ),
    ],
)
def test_invalid_input_is_refused_before_any_call(
    client: Client,
    owner: PymapUser,
    recorder: fake_pymap.Recorder,
    fields: dict[str, Any],
    error: str,
) -> None:
    data = form(owner.name, message_text="Subject: x\n\nbody\n")
    if fields.get("message_file") == "both":
        fields = {"message_file": SimpleUploadedFile("m.eml", b"Subject: y\r\n\r\nb\r\n")}
    data.update(fields)
    response = client.post(DELIVER, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert recorder.requests == []


@pytest.mark.parametrize("how", ["typed", "uploaded", "body over the request limit"])
def test_message_over_the_cap_is_413_without_any_call(
    client: Client,
    owner: PymapUser,
    recorder: fake_pymap.Recorder,
    settings: SettingsWrapper,
    mail_spool: Path,
    how: str,
) -> None:
    settings.PANEL_MAX_MESSAGE_BYTES = 2000
    big = message(1, body=b"x" * 3000)
    data = form(owner.name)
    if how == "typed":
        data["message_text"] = big.decode()
    elif how == "uploaded":
        data["message_file"] = SimpleUploadedFile("big.eml", big)
    else:
        data["message_file"] = SimpleUploadedFile("huge.eml", b"x" * (1100 * 1024))
    response = client.post(DELIVER, data)
    assert response.status_code == 413
    assert "Nothing was sent to the mail server" in response.content.decode()
    assert recorder.requests == []
    assert not list((mail_spool / "pending").iterdir())


# --- faults a real server cannot be made to produce --------------------------------------


def test_unknown_result_key_still_gets_a_clear_message(
    client: Client, owner: PymapUser, recorder: fake_pymap.Recorder
) -> None:
    recorder.behaviour["Append"] = lambda request: admin_pb2.AppendResponse(
        result=fake_pymap.failure("Frobnicated", b"Append NO [X] frobnicated.")
    )
    html = deliver(client, form(owner.name, message_text="Subject: x\n\nb\n"))
    assert "The mail server refused the message (Frobnicated)." in html
    assert "Append NO [X] frobnicated." in html
    assert last_audit().outcome == "Frobnicated"


def test_a_timeout_says_the_outcome_is_not_confirmed(
    client: Client, owner: PymapUser, recorder: fake_pymap.Recorder
) -> None:
    recorder.behaviour["Append"] = fake_pymap.hang
    started = int(time.time())
    html = deliver(client, form(owner.name, message_text="Subject: x\n\nb\n"))
    assert "Delivery not confirmed" in html
    assert "may have been delivered" in html
    assert last_audit().outcome == "ServerTimeout"
    [(name, request, _)] = recorder.requests
    assert name == "Append"
    assert request.data == b"Subject: x\r\n\r\nb\r\n"
    assert request.when >= started  # no date chosen: the time of sending


def test_the_internal_date_is_sent_in_epoch_seconds(
    client: Client, owner: PymapUser, recorder: fake_pymap.Recorder
) -> None:
    recorder.behaviour["Append"] = lambda request: admin_pb2.AppendResponse(
        result=admin_pb2.Result(code=admin_pb2.SUCCESS), mailbox="INBOX", validity=1, uid=7
    )
    deliver(client, form(owner.name, message_text="Subject: x\n\nb\n", date="2000-01-02T03:04:05"))
    [(_, request, metadata)] = recorder.requests
    assert request.when == int(datetime(2000, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    assert request.user == owner.name
    assert not request.HasField("sender")
    assert metadata["auth-token"] == session_operator(client).token


def test_long_values_are_refused_with_a_reason_never_cut_by_the_browser(
    client: Client, owner: PymapUser
) -> None:
    for path in (DELIVER, IMPORT, "/accounts/sign-in/"):
        assert "maxlength" not in client.get(path).content.decode()
    response = client.post(
        DELIVER,
        {
            "user": "u" * 256,
            "mailbox": "m" * 1001,
            "sender": "s" * 321,
            "message_text": "Subject: x\n\nbody\n",
            "action": "preview",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A user name can be at most 255 characters (this one has 256)." in html
    assert "A mailbox name can be at most 1000 characters." in html
    assert "An address can be at most 320 characters." in html
