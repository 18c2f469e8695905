"""An operator's journey through a user's mailboxes and their own filters in
Chromium: the password window, IMAP's counts, a mailbox created and seen over
IMAP, a message opened and still unseen, "spam into Junk" from the rule
builder active per ManageSieve and proven by Try it, a syntax error refused
with the server's words; on maildir the refusal with its reason."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in
from ..support.mail_access import sieve_as
from ..support.pymap_users import MakeUser

Imap = Callable[..., imaplib.IMAP4]
SPAM = (
    "From: spammer@example.org\nTo: me@example.org\nSubject: Cheap pills\n"
    "X-Spam-Flag: YES\n\nBuy now.\n"
)


def _open_mail_access(page: Page, password: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open")
    page.get_by_label("Your own password").fill(password)
    page.get_by_role("main").get_by_role(
        "button", name=re.compile("^Open (mailboxes|filters)")
    ).click()


@pytest.mark.backends("dict", "redis")
def test_mailboxes_of_a_user_then_spam_into_junk_for_myself(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser, imap_client: Imap
) -> None:
    admin = pymap_user("browser-mailadmin", roles=["admin"])
    owner = pymap_user("browser-mailowner")
    imap = imap_client(owner.name, owner.password)
    imap.append("INBOX", "", "", b"From: a@example.org\r\nSubject: Hello there\r\n\r\nhi\r\n")
    sign_in(page, panel.url, admin.name, admin.password)

    # Another user's mailboxes, with my own password.
    page.goto(f"{panel.url}/users/user/?name={owner.name}")
    page.get_by_role("link", name="Mailboxes").click()
    screenshot(page, "mail-access-password")
    assert_accessible(page)
    _open_mail_access(page, admin.password)
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("^INBOX 1 1"))).to_be_visible()
    page.get_by_label("Mailbox name").fill("Receipts")
    page.get_by_role("button", name="Create mailbox").click()
    expect(page.get_by_role("status").first).to_contain_text("Mailbox Receipts was created")
    expect(table.get_by_role("link", name="Receipts", exact=True)).to_be_visible()
    screenshot(page, "mailboxes-list")
    assert_accessible(page)
    assert b"Receipts" in b" ".join(x for x in imap.list()[1] if isinstance(x, bytes))
    page.get_by_role("link", name="INBOX").click()
    expect(page.get_by_role("cell", name="Hello there")).to_be_visible()
    screenshot(page, "mailbox-newest")
    page.get_by_role("link", name=re.compile(r"^Open \(UID \d+\)$")).click()
    expect(page.get_by_role("region", name="Text")).to_have_text("hi\n")
    expect(page.get_by_role("main")).to_contain_text("Hello there")
    screenshot(page, "mailbox-message")
    assert_accessible(page)
    imap.select("INBOX", readonly=True)
    flags = imap.fetch("1", "(FLAGS)")[1][0]
    assert isinstance(flags, bytes)
    assert b"\\Seen" not in flags
    assert admin.password not in page.content()
    assert admin.password not in page.url

    # Another user's filters: said why, no password asked.
    page.goto(f"{panel.url}/filters/?name={owner.name}")
    expect(page.get_by_role("main")).to_contain_text("ignores the authorization identity")
    expect(page.get_by_label("Your own password")).to_have_count(0)

    # My own filters: spam into Junk with the rule builder.
    mine = imap_client(admin.name, admin.password)
    mine.create("Junk")
    page.goto(f"{panel.url}/users/user/?name={admin.name}")
    page.get_by_role("link", name="Filters").click()
    page.get_by_role("link", name="New rules").click()
    page.get_by_label("When").select_option("header")
    page.get_by_label("Header or part").fill("X-Spam-Flag")
    page.get_by_label("Matches").select_option("is")
    page.get_by_label("Value").fill("YES")
    page.get_by_label("Then").select_option("fileinto")
    page.get_by_label("Mailbox or reason").fill("Junk")
    screenshot(page, "filters-rule-builder")
    assert_accessible(page)
    page.get_by_role("button", name="Check and save rules").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Script rules was saved and is now active"
    )
    expect(page.get_by_role("row", name=re.compile("^rules Active"))).to_be_visible()
    with sieve_as(pymap, admin) as sieve:
        assert sieve.listscripts()[0] == "rules"

    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Sample message").fill(SPAM)
    page.get_by_role("button", name="Deliver and show where it landed").click()
    expect(page.get_by_role("status").filter(has_text="Where it landed")).to_contain_text("Junk")
    expect(page.get_by_role("main")).to_contain_text("IMAP shows it there")
    screenshot(page, "filters-try-it")
    mine.select("Junk", readonly=True)
    assert len(mine.search(None, "HEADER", "Subject", '"Cheap pills"')[1][0].split()) == 1

    # A syntax error: the server's words at their line, the active script unchanged.
    page.goto(f"{panel.url}/filters/?name={admin.name}")
    page.get_by_role("link", name="Edit rules").click()
    editor = page.get_by_label("Sieve script")
    editor.fill(editor.input_value().replace('fileinto "Junk";', 'fileinto "Junk"'))
    page.get_by_role("button", name="Check and save").click()
    alert = page.locator("#script-error")
    expect(alert).to_contain_text("parsing error")
    expect(alert).to_contain_text("at line")
    screenshot(page, "filters-syntax-error")
    with sieve_as(pymap, admin) as sieve:
        assert sieve.listscripts()[0] == "rules"
        assert 'fileinto "Junk";' in sieve.getscript("rules")


@pytest.mark.backends("maildir")
def test_maildir_says_why_an_admin_cannot_open_another_users_mail(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-mailadmin", roles=["admin"])
    owner = pymap_user("browser-mailowner")
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/user/?name={admin.name}")  # the own page: no filters
    expect(page.locator("#filters-unavailable")).to_contain_text("keeps nothing")
    expect(page.get_by_role("link", name="Filters", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Mailboxes", exact=True)).to_be_visible()
    screenshot(page, "user-page-maildir-mail")
    page.goto(f"{panel.url}/mailboxes/?name={owner.name}")
    expect(page.get_by_role("main")).to_contain_text("only the admin token may act on other users")
    expect(page.get_by_label("Your own password")).to_have_count(0)
    screenshot(page, "mailboxes-maildir-refused")
