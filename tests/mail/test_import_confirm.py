"""Cancelling an import and deleting its upload: a confirmation page (GET)
that states what would be lost, then the POST that acts, against the real
pymap."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from adminpanel.audit.models import AuditEvent
from adminpanel.mail import spool
from adminpanel.mail.models import ImportJob, JobState, MessageState

from ..support.mail import IMPORT, mbox_bytes, message, run, sign_in, upload
from ..support.pymap_users import MakeUser, PymapUser
from ..support.users import signed_in_admin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_spool")]

ALREADY_ENDED = "This import has already ended."
WORKER_WILL_STOP = "The worker will stop after the messages it is sending now"
CANNOT_DISCARD = "The upload cannot be discarded now."


@pytest.fixture
def owner(pymap_user: MakeUser, client: Client, pymap_server: Any) -> PymapUser:
    user = pymap_user("confirmer")
    sign_in(client, user)
    return user


def start(client: Client, user: str, count: int, **fields: Any) -> ImportJob:
    """An import of ``count`` .eml files (counted at upload), queued."""
    files = [(f"{i}.eml", message(i)) for i in range(1, count + 1)]
    response = upload(client, user, files, **fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    return ImportJob.objects.get()


def set_states(job: ImportJob, *states: MessageState) -> None:
    """Give the first messages these states, in order (as a worker would have)."""
    for index, state in enumerate(states, start=1):
        job.messages.filter(index=index).update(state=state)


def snapshot(job: ImportJob) -> tuple[Any, ...]:
    """Everything a cancel or a discard would change."""
    row = ImportJob.objects.filter(pk=job.pk).values().get()
    states = list(job.messages.order_by("index").values_list("state", "reason"))
    directory = spool.import_directory(job.spool_name)
    files = sorted(path.name for path in directory.iterdir()) if directory.exists() else None
    return row, states, files, AuditEvent.objects.count()


def confirm_page(client: Client, job: ImportJob, action: str) -> str:
    before = snapshot(job)
    response = client.get(f"{IMPORT}{job.pk}/{action}/")
    assert response.status_code == 200
    assert snapshot(job) == before  # the GET changed nothing
    html = str(response.content.decode())
    assert f'<form method="post" action="{IMPORT}{job.pk}/{action}/" class="actions">' in html
    assert f'<a href="{IMPORT}{job.pk}/">Back to the import</a>' in html
    # Strict CSP: no inline script (the idle warning's file is the only script)...
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/panel/idle-warning.js" defer>'
    ]
    assert "style=" not in html  # ...nor style
    assert html.count("<h1>") == 1
    assert response["Cache-Control"].startswith("max-age=0")
    return html


def followed(response: Any) -> str:
    return str(response.content.decode())


# --- cancel --------------------------------------------------------------------------


def test_cancel_of_a_queued_import_is_confirmed_first(client: Client, owner: PymapUser) -> None:
    job = start(client, owner.name, 3)
    html = confirm_page(client, job, "cancel")
    assert f"<title>Cancel import #{job.pk}? · {job.server} · pymap admin</title>" in html
    assert f"<h1>Cancel import #{job.pk}?</h1>" in html
    assert "A cancelled import cannot be resumed: the 3 messages not sent yet will never" in html
    assert "<dt>Delivered</dt><dd>0 of 3</dd>" in html
    assert "<dt>Not sent yet</dt><dd>3</dd>" in html
    assert "No worker has started this import yet: nothing has been sent" in html
    assert '<button type="submit" class="danger">Cancel the import</button>' in html
    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == (JobState.QUEUED, False)
    assert job.sealed_token is not None

    response = client.post(f"{IMPORT}{job.pk}/cancel/", follow=True)
    assert response.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
    assert "The import was cancelled; no further message will be sent." in followed(response)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert job.sealed_token is None
    event = AuditEvent.objects.filter(action="mailbox-import").first()
    assert event is not None
    assert event.detail == f"import {job.pk} cancelled"

    # Now there is nothing to confirm: back to the import, saying why.
    again = client.get(f"{IMPORT}{job.pk}/cancel/", follow=True)
    assert again.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
    assert ALREADY_ENDED in followed(again)


def test_cancel_of_a_running_import_says_what_is_in_flight(
    client: Client, owner: PymapUser
) -> None:
    job = start(client, owner.name, 6)
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, lease="live-worker", run_started_at=now, heartbeat_at=now
    )
    set_states(
        job,
        MessageState.DELIVERED,
        MessageState.DISCARDED,
        MessageState.DELIVERED,
        MessageState.SENDING,
    )
    html = confirm_page(client, job, "cancel")
    assert "the 2 messages not sent yet will never be sent" in html
    assert "<dt>Delivered</dt><dd>2 of 6</dd>" in html
    assert "<dt>Accepted, discarded by the user's filter</dt><dd>1</dd>" in html
    assert "<dt>Being sent now</dt><dd>1</dd>" in html
    assert "<dt>Not sent yet</dt><dd>2</dd>" in html
    assert "it finishes sending the 1 message in flight and records its outcome" in html
    assert "the worker goes on sending until you confirm" in html

    response = client.post(f"{IMPORT}{job.pk}/cancel/", follow=True)
    assert WORKER_WILL_STOP in followed(response)
    job.refresh_from_db()
    assert (job.state, job.cancel_requested) == (JobState.RUNNING, True)
    assert AuditEvent.objects.get(action="mailbox-import", detail__endswith="cancel requested")

    # Asked already: the page is not shown again.
    again = client.get(f"{IMPORT}{job.pk}/cancel/", follow=True)
    assert again.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
    assert WORKER_WILL_STOP in followed(again)
    assert "Cancel the import…" not in followed(again)


def test_cancel_of_an_interrupted_import_names_the_unknown_outcomes(
    client: Client, owner: PymapUser
) -> None:
    job = start(client, owner.name, 5)
    ImportJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        lease="dead-worker",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    set_states(job, MessageState.DELIVERED, MessageState.SENDING, MessageState.SENDING)
    html = confirm_page(client, job, "cancel")
    assert "<dt>Being sent when the worker stopped</dt><dd>2</dd>" in html
    assert "<dt>Not sent yet</dt><dd>2</dd>" in html
    assert (
        "The 2 messages that were being sent when the worker stopped are marked "
        "“outcome unknown”" in html
    )
    assert "can still be sent again from the import page afterwards" in html
    assert "No worker is running this import: it stops at once." in html

    client.post(f"{IMPORT}{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    states = list(job.messages.order_by("index").values_list("state", flat=True))
    assert (
        states
        == [MessageState.DELIVERED] + [MessageState.UNKNOWN] * 2 + [MessageState.CANCELLED] * 2
    )
    assert job.upload_kept  # kept for a retry of the unknown ones, as the page said


def test_a_cancel_asked_of_a_worker_that_then_died_can_be_made_at_once(
    client: Client, owner: PymapUser
) -> None:
    job = start(client, owner.name, 3)
    ImportJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        lease="dead-worker",
        cancel_requested=True,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    detail = followed(client.get(f"{IMPORT}{job.pk}/"))
    assert "Cancel the import…" in detail
    assert "Cancelling after the messages being sent now" not in detail
    html = confirm_page(client, job, "cancel")
    assert "No worker is running this import: it stops at once." in html

    client.post(f"{IMPORT}{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED


# --- discard -------------------------------------------------------------------------


def test_discarding_the_upload_of_a_stopped_import_is_confirmed_first(
    client: Client, owner: PymapUser
) -> None:
    # The mailbox does not exist: the worker stops with every message unsent.
    job = run(start(client, owner.name, 4, mailbox="Missing"))
    assert job.state == JobState.FAILED
    assert job.upload_kept
    html = confirm_page(client, job, "discard")
    title = f"Delete the upload of import #{job.pk}? · {job.server} · pymap admin"
    assert f"<title>{title}</title>" in html
    assert f"<h1>Delete the uploaded file of import #{job.pk}?</h1>" in html
    assert (
        "The panel keeps no other copy of these messages: after this, the 4 messages not "
        "sent yet can never be sent, and the import cannot be resumed." in html
    )
    assert "<dt>Delivered</dt><dd>0 of 4</dd>" in html
    assert "<dt>Not sent yet</dt><dd>4</dd>" in html
    assert '<button type="submit" class="danger">Delete the uploaded file</button>' in html
    assert spool.import_directory(job.spool_name).exists()

    response = client.post(f"{IMPORT}{job.pk}/discard/", follow=True)
    assert response.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
    assert "The uploaded file was deleted." in followed(response)
    job.refresh_from_db()
    assert not job.upload_kept
    assert not spool.import_directory(job.spool_name).exists()
    assert set(job.messages.values_list("reason", flat=True)) == {
        "Not sent: the upload was discarded."
    }
    assert AuditEvent.objects.get(action="mailbox-import", detail__endswith="upload discarded")

    again = client.get(f"{IMPORT}{job.pk}/discard/", follow=True)
    assert again.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
    assert CANNOT_DISCARD in followed(again)


def test_discarding_names_unknown_outcomes_that_could_no_longer_be_resent(
    client: Client, owner: PymapUser
) -> None:
    job = start(client, owner.name, 4)
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.INTERRUPTED)
    set_states(job, MessageState.DELIVERED, MessageState.UNKNOWN, MessageState.SENDING)
    html = confirm_page(client, job, "discard")
    assert (
        "after this, the 1 message not sent yet and the 2 messages with an unknown outcome "
        "can never be sent" in html
    )
    assert "<dt>Outcome unknown</dt><dd>1</dd>" in html
    assert "The import ends as cancelled" in html


def test_discarding_when_everything_was_sent_says_the_file_is_just_not_needed(
    client: Client, owner: PymapUser
) -> None:
    job = start(client, owner.name, 2)
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.FAILED)
    set_states(job, MessageState.DELIVERED, MessageState.REFUSED)
    html = confirm_page(client, job, "discard")
    assert "the uploaded file is no longer needed, and deleting it loses nothing" in html
    assert "can never be sent" not in html
    assert "<dt>Not delivered</dt><dd>1</dd>" in html
    assert "<dt>Not sent yet</dt><dd>0</dd>" in html
    client.post(f"{IMPORT}{job.pk}/discard/")
    assert not spool.import_directory(job.spool_name).exists()


def test_a_finished_import_offers_neither_and_the_pages_redirect(
    client: Client, owner: PymapUser
) -> None:
    job = run(start(client, owner.name, 2))
    assert (job.state, job.upload_kept) == (JobState.FINISHED, False)
    detail = client.get(f"{IMPORT}{job.pk}/").content.decode()
    assert "/cancel/" not in detail
    assert "/discard/" not in detail
    for action, said in (("cancel", ALREADY_ENDED), ("discard", CANNOT_DISCARD)):
        response = client.get(f"{IMPORT}{job.pk}/{action}/", follow=True)
        assert response.redirect_chain == [(f"{IMPORT}{job.pk}/", 302)]
        assert said in followed(response)


def test_a_running_import_cannot_lose_its_upload(client: Client, owner: PymapUser) -> None:
    job = start(client, owner.name, 2)
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, lease="live-worker", heartbeat_at=now
    )
    response = client.get(f"{IMPORT}{job.pk}/discard/", follow=True)
    assert CANNOT_DISCARD in followed(response)
    assert spool.import_directory(job.spool_name).exists()


# --- the import page, methods, owners --------------------------------------------------


def test_the_import_page_links_to_both_confirmation_pages(client: Client, owner: PymapUser) -> None:
    job = run(start(client, owner.name, 2, mailbox="Missing"))
    html = client.get(f"{IMPORT}{job.pk}/").content.decode()
    assert (
        f'<a class="button danger" href="{IMPORT}{job.pk}/cancel/">Cancel the import…</a>' in html
    )
    discard = f'<a class="button" href="{IMPORT}{job.pk}/discard/">Delete the uploaded file…</a>'
    assert discard in html
    # No button on the import page acts at once.
    assert f'action="{IMPORT}{job.pk}/cancel/"' not in html
    assert f'action="{IMPORT}{job.pk}/discard/"' not in html


def test_other_methods_are_refused(client: Client, owner: PymapUser) -> None:
    job = start(client, owner.name, 1)
    for action in ("cancel", "discard"):
        for method in ("PUT", "DELETE", "PATCH"):
            response = client.generic(method, f"{IMPORT}{job.pk}/{action}/")
            assert response.status_code == 405
            assert response["Allow"] == "GET, POST"
    job.refresh_from_db()
    assert job.state == JobState.QUEUED


def test_another_operator_gets_404_on_the_confirmation_pages(
    client: Client, owner: PymapUser, pymap_user: MakeUser
) -> None:
    job = run(start(client, owner.name, 2, mailbox="Missing"))
    stranger = Client()
    sign_in(stranger, pymap_user("stranger"))
    before = snapshot(job)
    for action in ("cancel", "discard"):
        assert stranger.get(f"{IMPORT}{job.pk}/{action}/").status_code == 404
        assert stranger.post(f"{IMPORT}{job.pk}/{action}/").status_code == 404
    assert snapshot(job) == before
    admin = Client()
    signed_in_admin(admin, pymap_user)
    assert admin.get(f"{IMPORT}{job.pk}/cancel/").status_code == 200
    assert admin.get(f"{IMPORT}{job.pk}/discard/").status_code == 200


def test_an_mbox_not_read_yet_says_its_messages_are_not_counted(
    client: Client, owner: PymapUser
) -> None:
    archive = mbox_bytes(message(i) for i in range(1, 4))
    response = upload(client, owner.name, [("a.mbox", archive)])
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert not job.split_done
    html = confirm_page(client, job, "cancel")
    assert "A cancelled import cannot be resumed: the messages of the archive will never" in html
    assert "<dt>Delivered</dt><dd>0</dd>" in html
    assert "not counted yet" in html
