"""Imports that go wrong: a worker that dies, unknown outcomes, refusals at
upload, limits, and who may see an import."""

from __future__ import annotations

import csv
import dataclasses
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
from pymacaroons import Macaroon
from pytest_django.fixtures import Settings

from adminpanel.lib.sealing import Purpose, unseal
from adminpanel.mail import tasks
from adminpanel.mail.models import ImportJob, JobState, MessageState
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from devtools.pymap_process import PymapProcess

from ..support import fake_pymap
from ..support.mail import (
    IMPORT,
    as_stored,
    fetch_all,
    mbox_bytes,
    message,
    run,
    sign_in,
    upload,
)
from ..support.mail_flow import detail, start
from ..support.panel_client import session_operator
from ..support.pymap_users import MakeUser, PymapUser
from ..support.users import signed_in_admin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

Imap = Callable[..., imaplib.IMAP4]


class SimulatedCrash(BaseException):
    """Stands for the worker process dying: nothing catches it."""


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
    assert "live-progress.js" in queued
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
    # The fake under the name of the server signed in to (sign-ins are per server).
    fake = fake_pymap.install(monkeypatch, recorder)
    # Its label (the fake's unique name) keeps its channel apart in the pool.
    settings.PYMAP_SERVER = dataclasses.replace(
        fake, name=settings.PYMAP_SERVER.name, label=fake.name
    )
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
