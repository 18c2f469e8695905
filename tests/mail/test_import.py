"""Importing mboxes and .eml files through the pages and the task, against the
real pymap, read back over IMAP."""

from __future__ import annotations

import csv
import gzip
import imaplib
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import Settings

from adminpanel.audit.models import AuditEvent
from adminpanel.mail.models import ImportJob, JobState, MessageState
from adminpanel.pymap import service
from devtools.pymap_process import PymapProcess

from ..support.mail import (
    IMPORT,
    as_stored,
    fetch_all,
    flags_kept,
    mbox_bytes,
    message,
    run,
    run_worker_once,
)
from ..support.mail_flow import detail, start
from ..support.pymap_users import PymapUser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


class SimulatedCrash(BaseException):
    """Stands for the worker process dying: nothing catches it."""


def test_an_mbox_of_200_messages_arrives_complete_in_order_with_flags(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    originals = [message(i, body=b"line\r\n" * (i % 7)) for i in range(1, 201)]
    job = start(
        client,
        owner.name,
        [("archive.mbox", mbox_bytes(originals))],
        flags=["\\Seen"],
        keywords="$Imported",
    )
    # The real enqueue path: the upload queued a django-tasks task...
    queued = DBTaskResult.objects.get()
    assert queued.status == "READY"
    assert queued.args_kwargs == {"args": [job.pk], "kwargs": {}}
    assert job.sealed_token is not None
    assert "token" not in str(queued.args_kwargs)
    # ...that the database worker picks up and runs.
    run_worker_once()
    job.refresh_from_db()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert job.state == JobState.FINISHED
    assert job.total == 200
    assert job.sealed_token is None  # wiped when the run ended
    assert not job.upload_kept

    stored = fetch_all(imap_client(owner.name, owner.password))
    # Complete, in order, unchanged (but for maildir's line endings).
    assert [item.body for item in stored] == [as_stored(pymap, data) for data in originals]
    assert all(item.flags == flags_kept(pymap, {"\\Seen", "$Imported"}) for item in stored)
    assert stored[0].internal_date == "03-Feb-2020 10:01:00 +0000"  # from the Date header
    uids = [item.uid for item in stored]
    assert list(job.messages.values_list("uid", flat=True)) == uids

    html = detail(client, job)
    assert "Finished" in html
    assert 'aria-valuemax="200" aria-valuenow="200"' in html
    assert "message 200" in html
    event = AuditEvent.objects.filter(action="mailbox-import").first()
    assert event is not None
    assert (event.outcome, event.operator) == ("ok", owner.name)
    assert "200 delivered" in event.detail


def test_eml_files_and_a_gzipped_mbox_are_imported(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    emls = [("a.eml", message(1, tag="eml")), ("b.eml", b"Subject: bin\r\n\r\n\xff\x00\xfe\r\n")]
    job = run(start(client, owner.name, emls, date_source="now"))
    assert job.state == JobState.FINISHED
    archive = gzip.compress(mbox_bytes([message(i, tag="gz") for i in (2, 3)]))
    ImportJob.objects.all().delete()
    job = run(start(client, owner.name, [("old.mbox.gz", archive)]))
    assert job.state == JobState.FINISHED
    bodies = [item.body for item in fetch_all(imap_client(owner.name, owner.password))]
    sent = [emls[0][1], emls[1][1], message(2, tag="gz"), message(3, tag="gz")]
    assert bodies == [as_stored(pymap, data) for data in sent]


def test_mbox_separators_and_from_lines_are_left_as_they_are(
    client: Client, owner: PymapUser, imap_client: Imap, pymap: PymapProcess
) -> None:
    archive = (
        b"From a@example.org Sat Jan  3 01:05:34 1996\n"
        b"Subject: one\n\n>From quoted\nFrom unquoted in a paragraph\n\n"
        b"From b@example.org Sat Jan  3 01:05:35 1996\r\n"
        b"Subject: two\r\n\r\nCRLF body\r\n\r\n"
        b"From c@example.org Sat Jan  3 01:05:36 1996\n"
        b"Subject: three\n\nno final newline"
    )
    run(start(client, owner.name, [("mixed.mbox", archive)]))
    bodies = [item.body for item in fetch_all(imap_client(owner.name, owner.password))]
    assert bodies == [
        as_stored(pymap, data)
        for data in (
            b"Subject: one\n\n>From quoted\nFrom unquoted in a paragraph\n",
            b"Subject: two\r\n\r\nCRLF body\r\n",
            b"Subject: three\n\nno final newline",
        )
    ]


def test_cancel_mid_way_stops_after_the_messages_in_flight(
    client: Client,
    owner: PymapUser,
    imap_client: Imap,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    settings.PANEL_IMPORT_CONCURRENCY = 1  # chunks of 32 messages
    job = start(client, owner.name, [("a.mbox", mbox_bytes(message(i) for i in range(1, 101)))])
    real_batch = service.append_batch

    def batch_then_cancel(*args: Any, **kwargs: Any) -> None:
        real_batch(*args, **kwargs)
        # The operator presses Cancel while the worker runs.
        response = client.post(f"{IMPORT}{job.pk}/cancel/", follow=True)
        assert "will stop after the messages it is sending now" in response.content.decode()

    monkeypatch.setattr(service, "append_batch", batch_then_cancel)
    job = run(job)
    assert job.state == JobState.CANCELLED
    states = list(job.messages.values_list("state", flat=True))
    assert states == [MessageState.DELIVERED] * 32 + [MessageState.CANCELLED] * 68
    assert len(fetch_all(imap_client(owner.name, owner.password))) == 32
    assert job.sealed_token is None
    assert not job.upload_kept  # nothing left that could need it
    html = detail(client, job)
    assert "Cancelled" in html
    assert "Resume the import" not in html


def test_a_cancelled_import_shows_what_was_delivered_and_what_never_was(
    client: Client, owner: PymapUser, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """It used to show a full bar, "100 of 100, 100%", and a rate counting the
    68 messages never sent."""
    settings.PANEL_IMPORT_CONCURRENCY = 1  # chunks of 32 messages
    job = start(client, owner.name, [("a.mbox", mbox_bytes(message(i) for i in range(1, 101)))])
    real_batch = service.append_batch

    def batch_then_cancel(*args: Any, **kwargs: Any) -> None:
        real_batch(*args, **kwargs)
        client.post(f"{IMPORT}{job.pk}/cancel/")

    monkeypatch.setattr(service, "append_batch", batch_then_cancel)
    job = run(job)
    progress = client.get(f"{IMPORT}{job.pk}/progress.json").json()
    assert (progress["sent"], progress["not_sent"], progress["percent"]) == (32, 68, 32)
    # The rate counts delivered messages only: rate x elapsed = the 32 delivered.
    assert progress["rate"] * progress["elapsed_seconds"] == pytest.approx(32)
    assert progress["eta_seconds"] is None
    assert progress["sent_bytes"] < progress["total_bytes"]
    event = AuditEvent.objects.filter(action="mailbox-import", outcome="cancelled").get()
    assert event.detail.endswith("32 delivered, 0 discarded, 0 refused, 0 unknown, 68 not sent")
    assert [(part["name"], part["width"]) for part in progress["segments"]] == [
        ("delivered", "32.00%"),
        ("failed", "0.00%"),
        ("not-sent", "68.00%"),
    ]
    sentence = "after 32 of 100 messages: 32 delivered, 68 never sent."
    assert progress["texts"]["sentence"] == sentence
    html = detail(client, job)
    assert sentence in html
    assert 'aria-valuemax="100" aria-valuenow="32"' in html
    assert 'aria-valuetext="32 of 100 sent, 68 never sent"' in html
    assert 'Never sent (cancelled)</dt><dd data-field="cancelled">68</dd>' in html
    assert f'href="/users/user/?name={owner.name}">Open the user {owner.name}</a>' in html
    assert f'href="/mail/import/?user={owner.name}&amp;mailbox=INBOX">Import more' in html


def test_time_left_and_the_state_in_words_while_running() -> None:
    from adminpanel.mail.progress import Progress

    counts = dict.fromkeys(MessageState.values, 0)
    counts.update({MessageState.DELIVERED: 300, MessageState.PENDING: 600})
    running = Progress(
        state=JobState.RUNNING,
        total=900,
        total_bytes=None,
        counts=counts,
        done=300,
        done_bytes=0,
        sent_bytes=0,
        rate=10.0,
        byte_rate=1000.0,
        elapsed_seconds=30.0,
    )
    assert running.eta_seconds == 60.0
    assert running.sentence() == "300 of 900 messages sent; about 1 min left."
    assert running.texts()["rate"] == "10 delivered/s (1000\xa0bytes/s)"
    counts[MessageState.PENDING] = 5
    assert running.eta_seconds == 0.5
    assert "about 1 s left" in running.sentence()


def test_the_import_form_starts_with_no_user_unless_a_link_names_one(
    client: Client, owner: PymapUser
) -> None:
    html = client.get(IMPORT).content.decode()
    assert f'value="{owner.name}"' not in html
    html = client.get(f"{IMPORT}?user={owner.name}&mailbox=Archive").content.decode()
    assert f'value="{owner.name}"' in html
    assert 'value="Archive"' in html


_STATUS_MBOX = (
    b"From a@example.org Mon Feb  3 10:00:00 2020\n"
    b"Subject: read\nStatus: RO\n\nread in the archive\n\n"
    b"From a@example.org Mon Feb  3 10:00:00 2020\n"
    b"Subject: answered and flagged\nStatus: O\nX-Status: AF\n\nunread\n\n"
    b"From a@example.org Mon Feb  3 10:00:00 2020\n"
    b"Subject: new\n\nnever opened\n"
)


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "ignored"])
def test_mbox_status_headers_become_flags_unless_turned_off(
    client: Client, owner: PymapUser, imap_client: Imap, keep: bool, pymap: PymapProcess
) -> None:
    """``Status: RO`` used to arrive unread."""
    job = run(
        start(
            client,
            owner.name,
            [("status.mbox", _STATUS_MBOX)],
            keywords="$Archived",
            archive_flags="on" if keep else "",
        )
    )
    assert job.state == JobState.FINISHED
    stored = fetch_all(imap_client(owner.name, owner.password))
    read_in_archive = [{"\\Seen"}, {"\\Answered", "\\Flagged"}, set()]
    expected = read_in_archive if keep else [set(), set(), set()]
    assert [item.flags for item in stored] == [
        flags_kept(pymap, flags | {"$Archived"}) for flags in expected
    ]
    assert b"Status: RO" in stored[0].body  # the message itself is unchanged
    report = client.get(f"{IMPORT}{job.pk}/report.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [row["flags"] for row in rows] == (
        ["\\Seen", "\\Answered \\Flagged", ""] if keep else ["", "", ""]
    )
    assert ("kept (read" if keep else "ignored") in detail(client, job)


def test_maildir_info_in_eml_names_becomes_flags(
    client: Client, owner: PymapUser, imap_client: Imap
) -> None:
    files = [
        ("1700000000.M1P2.host:2,FS", message(1)),
        ("1700000001.M1P2.host!2,RT.eml", message(2)),
        ("1700000002.M1P2.host:2,Sa.eml", message(3)),  # "a": a keyword we cannot name
        ("plain.eml", message(4)),
    ]
    job = run(start(client, owner.name, files, flags=["\\Draft"]))
    assert job.state == JobState.FINISHED
    stored = fetch_all(imap_client(owner.name, owner.password))
    assert [item.flags for item in stored] == [
        {"\\Draft", "\\Flagged", "\\Seen"},
        {"\\Draft", "\\Answered", "\\Deleted"},
        {"\\Draft", "\\Seen"},
        {"\\Draft"},
    ]


def test_cancelling_a_queued_import_sends_nothing(client: Client, owner: PymapUser) -> None:
    job = start(client, owner.name, [("a.eml", message(1))])
    client.post(f"{IMPORT}{job.pk}/cancel/")
    job.refresh_from_db()
    assert (job.state, job.sealed_token) == (JobState.CANCELLED, None)
    assert run(job).messages.get().state == MessageState.CANCELLED
