"""Importing mboxes and .eml files through the pages and the task, against the
real pymap, read back over IMAP."""

from __future__ import annotations

import csv
import gzip
import imaplib
import io
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pymacaroons import Macaroon
from pytest_django.fixtures import Settings

from adminpanel.audit.models import AuditEvent
from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.mail import tasks
from adminpanel.mail.models import ImportJob, JobState, MessageState
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from . import fake_pymap
from .conftest import MakeUser, PymapUser
from .mail_support import (
    IMPORT,
    as_stored,
    fetch_all,
    flags_kept,
    mbox_bytes,
    message,
    run,
    run_worker_once,
    sign_in,
    upload,
)
from .panel_client import session_operator
from .users_support import signed_in_admin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


class SimulatedCrash(BaseException):
    """Stands for the worker process dying: nothing catches it."""


@pytest.fixture
def owner(pymap_server: PymapServer, pymap_user: MakeUser, client: Client) -> PymapUser:
    user = pymap_user("importer")
    sign_in(client, user)
    return user


def start(client: Client, user: str, files: list[tuple[str, bytes]], **fields: Any) -> ImportJob:
    response = upload(client, user, files, **fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    job = ImportJob.objects.get()
    assert response["Location"] == f"{IMPORT}{job.pk}/"
    return job


def detail(client: Client, job: ImportJob) -> str:
    response = client.get(f"{IMPORT}{job.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


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
    from adminpanel.mail.jobs import Progress

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


@pytest.fixture
def crash_on_second_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker dies after the 2nd chunk's Appends went out, before their
    outcomes were recorded."""
    real_record = tasks.ImportRun._record
    calls = iter(range(1000))

    def record(self: tasks.ImportRun, *args: Any) -> None:
        if next(calls) == 1:
            raise SimulatedCrash()
        real_record(self, *args)

    monkeypatch.setattr(tasks.ImportRun, "_record", record)


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_resume_after_an_interrupted_import_delivers_nothing_twice(
    client: Client,
    owner: PymapUser,
    imap_client: Imap,
    settings: Settings,
    crash_on_second_chunk: None,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    pymap: PymapProcess,
) -> None:
    settings.PANEL_IMPORT_CONCURRENCY = 1  # chunks of 32 messages
    originals = [message(i) for i in range(1, 101)]
    job = start(client, owner.name, [("a.mbox", mbox_bytes(originals))])
    with pytest.raises(SimulatedCrash):
        tasks.run_import.call(job.pk)
    job.refresh_from_db()
    if how == "stopped":
        # The worker saw the exception on its way out (SIGTERM twice, SystemExit).
        assert job.state == JobState.INTERRUPTED
    else:
        # SIGKILL: nothing ran on the way out; the job looks like it still runs
        # until its heartbeat is old enough.
        ImportJob.objects.filter(pk=job.pk).update(
            state=JobState.RUNNING,
            lease="dead-worker",
            heartbeat_at=timezone.now() - timedelta(minutes=5),
        )
    assert job.messages.filter(state=MessageState.SENDING).count() == 32
    html = detail(client, job)
    assert "Interrupted" in html
    assert "Resume the import" in html
    monkeypatch.undo()  # the next worker does not crash

    response = client.post(f"{IMPORT}{job.pk}/resume/")
    assert response.status_code == 302
    job = run(job)
    assert job.state == JobState.FINISHED
    stored = fetch_all(imap_client(owner.name, owner.password))
    # Each exactly once, in order.
    assert [item.body for item in stored] == [as_stored(pymap, data) for data in originals]
    unknown = job.messages.filter(state=MessageState.UNKNOWN)
    assert list(unknown.values_list("index", flat=True)) == list(range(33, 65))
    assert "may or may not have been delivered" in unknown.first().reason  # type: ignore[union-attr]
    assert job.upload_kept  # kept for a possible retry of the unknown ones
    html = detail(client, job)
    assert "Send the messages with an unknown outcome again" in html
    assert "Outcome unknown" in html


def test_retrying_unknown_outcomes_needs_confirmation_and_may_duplicate(
    client: Client,
    owner: PymapUser,
    imap_client: Imap,
    settings: Settings,
    crash_on_second_chunk: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.PANEL_IMPORT_CONCURRENCY = 1
    originals = [message(i) for i in range(1, 41)]
    job = start(client, owner.name, [("a.mbox", mbox_bytes(originals))])
    with pytest.raises(SimulatedCrash):
        tasks.run_import.call(job.pk)
    monkeypatch.undo()
    unconfirmed = client.post(f"{IMPORT}{job.pk}/retry-unknown/", follow=True)
    assert "Tick the box" in unconfirmed.content.decode()
    job.refresh_from_db()
    assert job.state == JobState.INTERRUPTED
    client.post(f"{IMPORT}{job.pk}/retry-unknown/", {"confirm": "yes"})
    job = run(job)
    assert job.state == JobState.FINISHED
    resent = job.messages.filter(resent=True)
    assert resent.count() == 8  # the chunk that was in flight (40 - 32)
    assert set(resent.values_list("state", flat=True)) == {MessageState.DELIVERED}
    stored = fetch_all(imap_client(owner.name, owner.password))
    # The crashed chunk was in fact delivered, so the operator's retry duplicated it.
    assert len(stored) == 48
    assert not job.upload_kept


def test_a_missing_mailbox_stops_the_import_and_resume_finishes_it(
    client: Client, owner: PymapUser, imap_client: Imap
) -> None:
    job = run(
        start(
            client,
            owner.name,
            [("a.mbox", mbox_bytes(message(i) for i in range(1, 6)))],
            mailbox="Archive",
        )
    )
    assert job.state == JobState.FAILED
    assert job.stop_key == "MailboxNotFound"
    assert "does not exist." in job.stop_reason
    assert set(job.messages.values_list("state", flat=True)) == {MessageState.PENDING}
    assert job.sealed_token is None
    imap = imap_client(owner.name, owner.password)
    assert imap.create("Archive")[0] == "OK"
    client.post(f"{IMPORT}{job.pk}/resume/")
    job = run(job)
    assert job.state == JobState.FINISHED
    assert len(fetch_all(imap, "Archive")) == 5


def test_an_unknown_user_is_refused_at_upload(
    client: Client, pymap_server: PymapServer, pymap_user: MakeUser, mail_spool: Path
) -> None:
    signed_in_admin(client, pymap_user)
    response = upload(client, "nobody-at-all-123", [("a.eml", message(1))])
    assert response.status_code == 404
    assert "There is no user" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not list((mail_spool / "imports").iterdir())


def test_importing_into_another_users_mailbox_needs_the_admin_role(
    client: Client, owner: PymapUser, pymap_user: MakeUser
) -> None:
    response = upload(client, pymap_user("other").name, [("a.eml", message(1))])
    assert response.status_code == 403
    assert "You may not deliver to" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_without_any_file_is_refused(client: Client, owner: PymapUser) -> None:
    response = upload(client, owner.name, [])
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_not_an_mbox_and_mixed_uploads_are_refused(client: Client, owner: PymapUser) -> None:
    mixed = upload(
        client, owner.name, [("a.mbox", mbox_bytes([message(1)])), ("b.eml", message(2))]
    )
    assert mixed.status_code == 400
    assert "Upload one mbox archive on its own" in mixed.content.decode()
    job = run(start(client, owner.name, [("bad.mbox.gz", gzip.compress(b"not an mbox"))]))
    assert job.state == JobState.FAILED
    assert "does not hold an mbox archive" in job.stop_reason
    assert not job.upload_kept
    assert "Resume the import" not in detail(client, job)


def test_a_compression_bomb_is_refused_before_it_fills_the_disk(
    client: Client, owner: PymapUser
) -> None:
    """2.2 MB of .mbox.gz used to expand to nearly the 1 GiB limit before it was
    refused; a ratio past PANEL_MAX_GZIP_RATIO (100) now stops it early."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = packer.compress(b"From bomb@example.invalid Mon Jan  1 00:00:00 2024\n\n")
    bomb += b"".join(packer.compress(b"\0" * 1024 * 1024) for _ in range(64))
    bomb += packer.flush()
    job = run(start(client, owner.name, [("bomb.mbox.gz", bomb)]))
    assert job.state == JobState.FAILED
    assert "expands more than 100 times" in job.stop_reason
    assert not job.upload_kept  # nothing of it is left on disk
    assert job.messages.count() == 0


def test_messages_over_the_size_limit_are_listed_not_sent(
    client: Client, owner: PymapUser, imap_client: Imap, settings: Settings, pymap: PymapProcess
) -> None:
    settings.PANEL_MAX_MESSAGE_BYTES = 2048
    small, big = message(1), message(2, body=b"x" * 5000)
    job = run(start(client, owner.name, [("a.mbox", mbox_bytes([small, big]))]))
    assert job.state == JobState.FINISHED
    refused = job.messages.get(state=MessageState.REFUSED)
    assert (refused.index, refused.reason_key) == (2, "TooLarge")
    stored = fetch_all(imap_client(owner.name, owner.password))
    assert [item.body for item in stored] == [as_stored(pymap, small)]


def test_progress_page_json_and_csv_report(client: Client, owner: PymapUser) -> None:
    job = start(client, owner.name, [("a.mbox", mbox_bytes(message(i) for i in range(1, 4)))])
    queued = detail(client, job)
    assert "Waiting for a worker" in queued
    assert 'data-progress-url="/mail/import/' in queued
    assert "import-progress.js" in queued
    assert "<script>" not in queued  # no inline script
    job = run(job)
    progress = client.get(f"{IMPORT}{job.pk}/progress.json").json()
    assert progress["state"] == "finished"
    assert (progress["sent"], progress["total"], progress["delivered"]) == (3, 3, 3)
    assert progress["texts"]["sentence"] == "3 of 3 messages sent, 3 delivered."
    report = client.get(f"{IMPORT}{job.pk}/report.csv")
    assert report["Content-Disposition"] == f'attachment; filename="import-{job.pk}-report.csv"'
    rows = list(csv.DictReader(io.StringIO(report.content.decode())))
    assert [row["state"] for row in rows] == ["delivered"] * 3
    assert [row["subject"] for row in rows] == ["message 1", "message 2", "message 3"]
    assert all(row["uid"] for row in rows)


def test_csv_cells_cannot_start_a_formula(client: Client, owner: PymapUser) -> None:
    evil = b'Subject: =HYPERLINK("http://x")\r\n\r\nb\r\n'
    job = run(start(client, owner.name, [("a.eml", evil)]))
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{IMPORT}{job.pk}/report.csv").content.decode()))
    )
    assert rows[0]["subject"] == '\'=HYPERLINK("http://x")'


def test_other_operators_cannot_see_an_import(
    client: Client, owner: PymapUser, pymap_user: MakeUser
) -> None:
    job = start(client, owner.name, [("a.eml", message(1))])
    stranger = Client()
    sign_in(stranger, pymap_user("stranger"))
    assert stranger.get(f"{IMPORT}{job.pk}/").status_code == 404
    assert stranger.get(f"{IMPORT}{job.pk}/progress.json").status_code == 404
    assert stranger.post(f"{IMPORT}{job.pk}/cancel/").status_code == 404
    admin = Client()
    signed_in_admin(admin, pymap_user)
    assert admin.get(f"{IMPORT}{job.pk}/").status_code == 200


def test_the_jobs_token_is_sealed_narrowed_and_for_the_user_alone(
    client: Client, owner: PymapUser, pymap_server: PymapServer, pymap: PymapProcess
) -> None:
    job = start(client, owner.name, [("a.eml", message(1))])
    assert job.sealed_token is not None
    sealed = bytes(job.sealed_token)
    token = unseal(sealed, Purpose.IMPORT_JOB)
    assert token.encode() not in sealed
    # redis hands out the same login token for a user on every Login (named
    # after the user, signed with the user's key): there it is the session's.
    assert token != session_operator(client).token or pymap.backend == "redis"
    macaroon = Macaroon.deserialize(token)
    assert f"authcid = {owner.name}" in [c.caveat_id for c in macaroon.first_party_caveats()]
    assert "time < " in str(macaroon.inspect())
    assert token not in detail(client, job)
    assert service.get_user(pymap_server, token, owner.name).name == owner.name


def test_an_upload_over_the_cap_is_413_without_any_call(
    client: Client,
    owner: PymapUser,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    mail_spool: Path,
) -> None:
    recorder = fake_pymap.Recorder()
    settings.PYMAP_SERVER = fake_pymap.install(monkeypatch, recorder)
    settings.PANEL_MAX_IMPORT_BYTES = 10_000
    archive = mbox_bytes(message(i, body=b"y" * 500) for i in range(1, 40))
    assert len(archive) > 10_000
    response = upload(client, owner.name, [("big.mbox", archive)])
    assert response.status_code == 413
    assert "Nothing was sent to the mail server" in response.content.decode()
    assert recorder.requests == []
    assert not ImportJob.objects.exists()
    assert not list((mail_spool / "imports").iterdir())


def test_a_body_far_over_the_cap_is_refused_before_it_is_read(
    client: Client, owner: PymapUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = fake_pymap.Recorder()
    settings.PYMAP_SERVER = fake_pymap.install(monkeypatch, recorder)
    settings.PANEL_MAX_IMPORT_BYTES = 10_000

    def unread(*args: Any) -> Iterator[bytes]:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr("django.http.multipartparser.MultiPartParser.parse", unread)
    response = upload(client, owner.name, [("big.mbox", b"From x\n\n" + b"z" * 2_000_000)])
    assert response.status_code == 413
    assert recorder.requests == []
