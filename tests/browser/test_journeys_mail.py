"""Journeys through delivering and importing mail, read back over IMAP."""

from __future__ import annotations

import imaplib
import mailbox
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess

from ..support.browser import (
    PHONE,
    NewPage,
    after_shot,
    assert_accessible,
    screenshot,
    sign_in,
    start_stopped_import,
)
from ..support.mail import fetch_all
from ..support.pymap_users import MakeUser

Imap = Callable[..., imaplib.IMAP4]
IMPORTED_MESSAGES = 20

# The pages look and behave alike on every backend; these journeys run on
# dict, and test_journeys_backends.py runs what differs on all three.
pytestmark = pytest.mark.backends("dict")


def test_deliver_a_message_with_flags_and_read_it_back_over_imap(
    page: Page, panel: PanelProcess, pymap_user: MakeUser, imap_client: Imap
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    owner = pymap_user("browser-mail")
    subject = f"Browser delivery {uuid.uuid4().hex[:8]}"
    sign_in(page, panel.url, admin.name, admin.password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliver").click()
    expect(page).to_have_title("Deliver a message · test pymap · pymap admin")
    page.get_by_label("User", exact=True).fill(owner.name)
    expect(page.get_by_label("Mailbox", exact=True)).to_have_value("INBOX")
    page.get_by_label("Envelope sender (optional)").fill("sender@example.org")
    page.get_by_role("checkbox", name="Seen").check()
    page.get_by_role("checkbox", name="Flagged").check()
    page.get_by_label("Keywords").fill("$Label1 Project-X")
    # The simple fields are offered first; a raw message is one choice away,
    # and the fields of the other sources are hidden.
    expect(page.get_by_role("radio", name=re.compile("^Write it here"))).to_be_checked()
    page.get_by_role("radio", name=re.compile("^Paste the whole message")).check()
    expect(page.get_by_label("From", exact=True)).to_be_hidden()
    page.get_by_label("Raw message").fill(
        f"From: Sender <sender@example.org>\nTo: {owner.name}@example.org\n"
        f"Subject: {subject}\n\nDelivered from a browser.\n<b>not bold</b>\n"
    )
    assert_accessible(page)
    screenshot(page, "deliver-form")
    page.get_by_role("button", name="Preview").click()

    expect(page).to_have_title("Check the message · test pymap · pymap admin")
    main = page.get_by_role("main")
    expect(main).to_contain_text(subject)
    expect(main).to_contain_text("$Label1")
    # The start of the text, escaped; the raw source folded away until asked for.
    expect(main.get_by_role("region", name="Text")).to_have_text(
        "Delivered from a browser.\n<b>not bold</b>\n"
    )
    source = main.get_by_role("region", name="Raw source")
    expect(source).to_be_hidden()
    main.get_by_text("Raw source", exact=True).click()
    expect(source).to_contain_text(f"Subject: {subject}")
    assert_accessible(page)
    screenshot(page, "deliver-preview")
    page.get_by_role("button", name="Deliver this message").click()

    expect(page).to_have_title("Delivery result · test pymap · pymap admin")
    result = page.get_by_role("status")
    expect(result).to_contain_text("2.0.0 Message delivered")
    match = re.search(r"\bUID\s+(\d+)", result.inner_text())
    assert match is not None, result.inner_text()
    uid = int(match[1])
    assert_accessible(page)
    screenshot(page, "deliver-result", readme=True)

    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert stored.uid == uid
    assert {"\\Seen", "\\Flagged", "$Label1", "Project-X"} <= stored.flags
    assert f"Subject: {subject}".encode() in stored.body
    assert stored.body.endswith(b"\r\n\r\nDelivered from a browser.\r\n<b>not bold</b>\r\n")


def test_write_a_message_in_the_fields_then_edit_and_try_again_after_a_refusal(
    page: Page, panel: PanelProcess, pymap_user: MakeUser, imap_client: Imap
) -> None:
    owner = pymap_user("browser-compose")
    subject = f"Written in the fields {uuid.uuid4().hex[:8]}"
    sign_in(page, panel.url, owner.name, owner.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliver").click()
    user = page.get_by_label("User", exact=True)
    expect(user).to_have_value("")  # never the operator by default
    after_shot(page, "issue16-after-deliver-form")
    user.fill(owner.name)
    page.get_by_label("Mailbox", exact=True).fill("Projects")  # does not exist
    page.get_by_label("From", exact=True).fill("Ann Example <ann@example.org>")
    page.get_by_label("To (optional)").fill(f"{owner.name}@example.org")
    page.get_by_label("Subject (optional)").fill(subject)
    page.get_by_label("Text", exact=True).fill("First line.\nSecond line.")
    expect(page.get_by_label("Raw message")).to_be_hidden()
    page.get_by_role("button", name="Preview").click()

    main = page.get_by_role("main")
    expect(main).to_contain_text("Ann Example <ann@example.org>")
    expect(main.get_by_role("region", name="Text")).to_contain_text("First line.\nSecond line.")
    expect(main).to_contain_text("written in the form (Date and Message-ID added")
    page.get_by_role("button", name="Deliver this message").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not delivered")
    expect(alert).to_contain_text("does not exist")
    assert_accessible(page)
    screenshot(page, "deliver-not-delivered")
    after_shot(page, "issue16-after-deliver-refused")
    page.get_by_role("link", name="Edit and try again").click()

    expect(page).to_have_title("Deliver a message · test pymap · pymap admin")
    mailbox = page.get_by_label("Mailbox", exact=True)
    expect(mailbox).to_have_value("Projects")
    expect(page.get_by_label("From", exact=True)).to_have_value("Ann Example <ann@example.org>")
    expect(page.get_by_label("Subject (optional)")).to_have_value(subject)
    expect(page.get_by_label("Text", exact=True)).to_have_value("First line.\nSecond line.\n")
    mailbox.fill("INBOX")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Deliver this message").click()
    expect(page.get_by_role("status")).to_contain_text("2.0.0 Message delivered")

    [stored] = fetch_all(imap_client(owner.name, owner.password))
    assert f"Subject: {subject}".encode() in stored.body
    assert re.search(rb"^Message-ID: <[^>]+@example\.org>\r$", stored.body, re.MULTILINE)
    assert re.search(rb"^Date: ", stored.body, re.MULTILINE)
    assert stored.body.endswith(b"\r\n\r\nFirst line.\r\nSecond line.\r\n")


def _write_mbox(path: Path, count: int, tag: str) -> list[str]:
    """An mbox of ``count`` small messages, written by Python's mailbox module."""
    subjects = [f"Imported {tag} #{index:02d}" for index in range(1, count + 1)]
    archive = mailbox.mbox(path, create=True)
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    try:
        for index, subject in enumerate(subjects):
            message = EmailMessage()
            message["From"] = "Archive <archive@example.org>"
            message["To"] = "someone@example.org"
            message["Subject"] = subject
            message["Date"] = format_datetime(start + timedelta(hours=index))
            message["Message-ID"] = f"<{tag}.{index}@example.org>"
            message.set_content(f"Message {index + 1} of {count}.\n")
            archive.add(message)
        archive.flush()
    finally:
        archive.close()
    return subjects


def _subject(message: bytes) -> str:
    match = re.search(rb"^Subject: (.*?)\r?$", message, re.MULTILINE)
    assert match is not None, message[:300]
    return match[1].decode()


def test_import_an_mbox_and_watch_the_progress_bar_reach_the_end(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser, imap_client: Imap, tmp_path: Path
) -> None:
    page = new_page()
    admin = pymap_user("browser-admin", roles=["admin"])
    owner = pymap_user("browser-import")
    tag = uuid.uuid4().hex[:8]
    archive = tmp_path / f"archive-{tag}.mbox"
    subjects = _write_mbox(archive, IMPORTED_MESSAGES, tag)
    sign_in(page, panel.url, admin.name, admin.password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page).to_have_title("Import messages · test pymap · pymap admin")
    page.get_by_label("User", exact=True).fill(owner.name)
    page.get_by_label("mbox archive or .eml files").set_input_files(archive)
    page.get_by_role("checkbox", name="Seen").check()
    page.get_by_label("Keywords").fill("Imported")
    assert_accessible(page)
    screenshot(page, "import-form")
    page.get_by_role("button", name="Upload and import").click()

    expect(page).to_have_title(re.compile(r"^Import #\d+ · test pymap · pymap admin$"))
    detail = page.url
    bar = page.get_by_role("progressbar", name="Progress")
    # The worker runs the import while the page refreshes itself.
    expect(bar).to_have_attribute("aria-valuenow", str(IMPORTED_MESSAGES))
    expect(bar).to_have_attribute("aria-valuemax", str(IMPORTED_MESSAGES))
    progress = page.get_by_role("region", name="Progress")
    n = IMPORTED_MESSAGES
    expect(progress).to_contain_text(f"Finished {n} of {n} messages sent, {n} delivered.")
    expect(progress).to_contain_text(f"{n} of {n} (100%)")
    report = page.get_by_role("table")
    expect(report.get_by_role("row")).to_have_count(IMPORTED_MESSAGES + 1)
    expect(report).to_contain_text(subjects[-1])
    assert_accessible(page)
    screenshot(page, "import-finished", readme=True)

    stored = fetch_all(imap_client(owner.name, owner.password))
    assert [_subject(item.body) for item in stored] == subjects
    assert all({"\\Seen", "Imported"} <= item.flags for item in stored)

    # The end of the import says where to go next.
    progress.get_by_role("link", name=f"Import more into {owner.name} / INBOX").click()
    expect(page).to_have_title("Import messages · test pymap · pymap admin")
    expect(page.get_by_label("User", exact=True)).to_have_value(owner.name)
    expect(page.get_by_label("Mailbox", exact=True)).to_have_value("INBOX")

    # The import list links to it, and the list reads well on a phone too.
    phone = new_page(viewport=PHONE, color_scheme="dark")
    sign_in(phone, panel.url, admin.name, admin.password)
    phone.goto(f"{panel.url}/mail/import/")
    expect(phone.get_by_role("link", name=re.compile(r"^#\d+$")).first).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "import-phone-dark")

    # On a phone each message of the report is a two-line card: number and
    # subject, then outcome, UID and size; the empty Reason is left out.
    phone.goto(detail)
    report = phone.get_by_role("table")
    row = report.get_by_role("row").filter(has_text=subjects[0])
    expect(row).to_contain_text("Delivered")
    uid = row.locator("td").nth(4)
    expect(uid).to_have_text(re.compile(r"^\d+$"))
    assert "UID" in uid.evaluate("(el) => getComputedStyle(el, '::before').content")
    expect(row.locator("td").last).to_be_hidden()  # Reason
    box = row.bounding_box()
    assert box is not None
    assert box["height"] <= 70, box  # a message used to take 240 px
    assert_accessible(phone)
    screenshot(phone, "import-report-phone-dark")


def test_an_mbox_keeps_its_read_and_flagged_state_by_default(
    page: Page, panel: PanelProcess, pymap_user: MakeUser, imap_client: Imap, tmp_path: Path
) -> None:
    owner = pymap_user("browser-status")
    archive = tmp_path / "status.mbox"
    archive.write_bytes(
        b"From a@example.org Mon Feb  3 10:00:00 2020\nSubject: one\nStatus: RO\n\nread\n\n"
        b"From a@example.org Mon Feb  3 10:00:00 2020\nSubject: two\nX-Status: F\n\nflagged\n"
    )
    sign_in(page, panel.url, owner.name, owner.password)
    page.goto(f"{panel.url}/mail/import/")
    keep = page.get_by_role("checkbox", name="Keep each message's read, answered and flagged state")
    expect(keep).to_be_checked()
    expect(keep).to_have_accessible_description(re.compile("Status and X-Status headers"))
    flags = page.get_by_role("group", name="Flags", exact=True)
    expect(flags).to_contain_text("Given to every message of the import")
    page.get_by_label("User", exact=True).fill(owner.name)
    page.get_by_label("mbox archive or .eml files").set_input_files(archive)
    page.get_by_role("button", name="Upload and import").click()
    progress = page.get_by_role("region", name="Progress")
    expect(progress).to_contain_text("Finished")
    expect(page.get_by_role("region", name="Details")).to_contain_text("State from the archive")
    stored = fetch_all(imap_client(owner.name, owner.password))
    assert [item.flags for item in stored] == [{"\\Seen"}, {"\\Flagged"}]


def test_delete_the_upload_then_cancel_a_stopped_import_after_confirming_without_javascript(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser, tmp_path: Path
) -> None:
    page = new_page(javascript=False)
    owner = pymap_user("browser-stopped")
    sign_in(page, panel.url, owner.name, owner.password)
    eml = tmp_path / "stopped.eml"
    eml.write_bytes(b"Subject: never sent\r\n\r\nThe mailbox does not exist.\r\n")
    detail = start_stopped_import(page, panel.url, owner.name, eml)
    title = page.title()
    actions = page.get_by_role("region", name="Actions")
    screenshot(page, "import-stopped")

    # Cancel: a page that says what would be lost; going back changes nothing.
    actions.get_by_role("link", name="Cancel the import…").click()
    expect(page).to_have_title(re.compile(r"^Cancel import #\d+\? · test pymap · pymap admin$"))
    main = page.get_by_role("main")
    expect(main).to_contain_text("the 1 message not sent yet will never be sent")
    expect(main).to_contain_text("No worker is running this import: it stops at once.")
    screenshot(page, "import-cancel-confirm")
    page.get_by_role("link", name="Back to the import").click()
    expect(page).to_have_title(title)
    expect(page.get_by_role("region", name="Progress")).to_contain_text("Stopped")

    # Deleting the upload, confirmed.
    actions.get_by_role("link", name="Delete the uploaded file…").click()
    expect(page).to_have_title(
        re.compile(r"^Delete the upload of import #\d+\? · test pymap · pymap admin$")
    )
    expect(page.get_by_role("main")).to_contain_text(
        "after this, the 1 message not sent yet can never be sent"
    )
    screenshot(page, "import-discard-confirm")
    page.get_by_role("button", name="Delete the uploaded file").click()
    expect(page).to_have_url(detail)
    expect(page.get_by_role("status").first).to_have_text("The uploaded file was deleted.")
    expect(page.get_by_role("region", name="Details")).to_contain_text("deleted from the panel")
    expect(page.get_by_role("table")).to_contain_text("Not sent: the upload was discarded.")
    expect(actions.get_by_role("link", name="Delete the uploaded file…")).to_have_count(0)

    # A stopped import can still be cancelled; then no action is left.
    actions.get_by_role("link", name="Cancel the import…").click()
    page.get_by_role("button", name="Cancel the import").click()
    expect(page).to_have_url(detail)
    expect(page.get_by_role("status").first).to_have_text(
        "The import was cancelled; no further message will be sent."
    )
    progress = page.get_by_role("region", name="Progress")
    # Cancelled is not finished: nothing was sent, and the bar says so.
    expect(progress).to_contain_text("Cancelled after 0 of 1 messages: 0 delivered, 1 never sent.")
    bar = progress.get_by_role("progressbar", name="Progress")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(bar).to_have_attribute("aria-valuetext", "0 of 1 sent, 1 never sent")
    expect(progress).to_contain_text("Never sent (cancelled)")
    expect(page.get_by_role("region", name="Actions")).to_have_count(0)
    screenshot(page, "import-cancelled")
    progress.get_by_role("link", name=f"Open the user {owner.name}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(owner.name)
