"""Accessibility across the panel: axe-core on every page in light and dark, on
desktop and phone; landmarks and titles; the keyboard alone; error pages;
errors announced and tied to their fields."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import (
    DESKTOP,
    NON_TEXT_CONTRAST,
    PHONE,
    NewPage,
    assert_accessible,
    assert_no_horizontal_scroll,
    contrast,
    screenshot,
    sign_in,
    start_stopped_import,
)
from ..support.pymap_users import MakeUser, PymapUser

# What the element with focus is called, the way a screen reader names it
# (enough of it for these pages: label, aria-label, or text).
_FOCUSED = """() => {
  const el = document.activeElement;
  const label = el.labels && el.labels.length ? el.labels[0].textContent : null;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    type: el.getAttribute("type"),
    // False on the calendar button inside a date field: the browser draws
    // its ring (in --focus, see panel.css), out of reach of getComputedStyle.
    own: el.matches(":focus"),
    name: (label || el.getAttribute("aria-label") || el.textContent || "")
      .trim().replace(/\\s+/g, " "),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    outlineColor: style.outlineColor,
  };
}"""

_BACKGROUND = "() => getComputedStyle(document.body).backgroundColor"

# Every control marked invalid names its error, and every field error is named
# by a control: [[control id, [texts of what it is described by]], ...] and the
# ids of field errors nobody points at.
_ERROR_LINKS = """() => {
  const invalid = [...document.querySelectorAll('[aria-invalid="true"]')].map((el) => [
    el.id,
    (el.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean)
      .map((id) => document.getElementById(id))
      .map((described) => (described ? described.textContent.trim() : null)),
  ]);
  const pointedAt = new Set([...document.querySelectorAll("[aria-describedby]")]
    .flatMap((el) => el.getAttribute("aria-describedby").split(/\\s+/)));
  const orphans = [...document.querySelectorAll(".field-error")]
    .filter((el) => !el.id || !pointedAt.has(el.id)).map((el) => el.textContent.trim());
  return {invalid, orphans};
}"""

# The pages look and behave alike on every backend; these journeys run on
# dict, and test_journeys_backends.py runs what differs on all three.
pytestmark = pytest.mark.backends("dict")


def _main_pages(base: str, target: PymapUser, stopped_import: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of every page an operator with the admin role reaches
    from the navigation without changing anything, the pages of an import
    that stopped (its page and the two confirmation pages), and the preview
    of a message waiting to be delivered."""
    yield "dashboard", f"{base}/"
    yield "users", f"{base}/users/"
    yield "user", f"{base}/users/user/?name={target.name}"
    yield "user-edit", f"{base}/users/edit/?name={target.name}"
    yield "user-password", f"{base}/users/password/?name={target.name}"
    yield "user-delete", f"{base}/users/delete/?name={target.name}"
    yield "user-create", f"{base}/users/new/"
    yield "user-not-found", f"{base}/users/user/?name=nobody-{uuid.uuid4().hex[:8]}"
    yield "deliver", f"{base}/mail/deliver/"
    yield "deliver-preview", f"{base}/mail/deliver/preview/"
    yield "import", f"{base}/mail/import/"
    yield "import-detail", stopped_import
    yield "import-cancel", f"{stopped_import}cancel/"
    yield "import-discard", f"{stopped_import}discard/"
    yield "bulk", f"{base}/bulk/"
    yield "audit", f"{base}/audit/"
    yield "tokens", f"{base}/tokens/"
    yield "tokens-inspect", f"{base}/tokens/inspect/"
    yield "time-zone", f"{base}/preferences/time-zone/"
    yield "servers", f"{base}/servers/"
    yield "second-factor", f"{base}/second-factor/"
    yield "second-factor-app", f"{base}/second-factor/add/app/"
    yield "second-factor-passkey", f"{base}/second-factor/add/passkey/"
    yield "second-factor-others", f"{base}/second-factor/others/"
    yield "not-found", f"{base}/no-such-page/"


@pytest.mark.long  # visits every page: started first among the browser tests
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_passes_axe_has_landmarks_a_title_of_its_own_and_fits_the_window(
    new_page: NewPage,
    panel: PanelProcess,
    pymap_user: MakeUser,
    viewport: dict[str, int],
    tmp_path: Path,
) -> None:
    """Each page once, checked in light then dark: the schemes differ only in
    panel.css's prefers-color-scheme rules, which follow the switch."""
    page = new_page(viewport=viewport, color_scheme="light")
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-pages", roles=["editor"])
    sign_in(page, panel.url, admin.name, admin.password)
    eml = tmp_path / "one.eml"
    eml.write_bytes(b"Subject: kept for the confirmation pages\r\n\r\nBody.\r\n")
    stopped_import = start_stopped_import(page, panel.url, target.name, eml)
    _wait_for_preview(page, panel.url, target.name)
    titles: dict[str, str] = {}
    for name, url in _main_pages(panel.url, target, stopped_import):
        page.emulate_media(color_scheme="light")
        page.goto(url)
        expect(page.get_by_role("banner")).to_have_count(1)
        expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
        expect(page.get_by_role("main")).to_have_count(1)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        banner = page.get_by_role("banner")
        expect(banner).to_contain_text(admin.name)
        expect(banner).to_contain_text("Session ends")
        expect(banner.get_by_role("button", name="Sign out")).to_be_visible()
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            assert page.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches")
            # Buttons fade to the new colours (panel.css transitions): measure them after.
            page.wait_for_function("() => document.getAnimations().length === 0")
            assert_accessible(page)
            if viewport == PHONE:
                assert_no_horizontal_scroll(page)
        titles[name] = page.title()
    assert len(set(titles.values())) == len(titles), titles
    if viewport == PHONE:  # the page is in dark mode now
        page.goto(f"{panel.url}/users/edit/?name={target.name}")
        screenshot(page, "user-edit-phone-dark")
        page.goto(f"{stopped_import}cancel/")
        screenshot(page, "import-cancel-phone-dark")


def _wait_for_preview(page: Page, base: str, user: str) -> None:
    """Leave a message waiting for confirmation, with text, an attachment and
    the raw source, so that its preview page can be visited."""
    page.goto(f"{base}/mail/deliver/")
    page.get_by_label("User", exact=True).fill(user)
    page.get_by_role("radio", name=re.compile("^Paste the whole message")).check()
    page.get_by_label("Raw message").fill(
        "From: a@example.org\nSubject: preview\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nSome text.\n--b\nContent-Type: text/csv\n"
        "Content-Disposition: attachment; filename=data.csv\n\na,b\n--b--\n"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page).to_have_title("Check the message · test pymap · pymap admin")


def test_the_keyboard_alone_moves_through_the_navigation_and_delivers_a_message(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    owner = pymap_user("browser-keys")
    sign_in(page, panel.url, admin.name, admin.password)
    background = page.evaluate(_BACKGROUND)

    def tab_to(name: str, *, limit: int = 40) -> None:
        """Tab forward until the control called ``name`` has focus; every stop
        on the way must show a focus ring that stands out from the page."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED)
            if not focused["own"]:
                continue
            assert focused["outlineStyle"] != "none", focused
            assert focused["outlineWidth"] >= 2, focused
            assert contrast(focused["outlineColor"], background) >= NON_TEXT_CONTRAST, focused
            if focused["name"] == name:
                return
        raise AssertionError(f"{name!r} was not reached with Tab")

    # Skip link first, then the header, then the navigation in order.
    page.keyboard.press("Tab")
    assert page.evaluate(_FOCUSED)["name"] == "Skip to content"
    for link in ("Dashboard", "Users", "Deliver"):
        tab_to(link)
    page.keyboard.press("Enter")
    expect(page).to_have_title("Deliver a message · test pymap · pymap admin")

    # The skip link jumps over header and navigation into the form. The jump
    # lands on <main> once the browser has followed the link: on a busy
    # machine a Tab sent before that went astray (make test, once).
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
    tab_to("User")
    page.keyboard.type(owner.name)
    tab_to("From")
    page.keyboard.type("keys@example.org")
    tab_to("Subject (optional)")
    page.keyboard.type("typed with the keyboard")
    tab_to("Text")
    page.keyboard.type("No mouse was used.\n")
    tab_to("Flagged")
    page.keyboard.press("Space")
    tab_to("Preview")
    screenshot(page, "keyboard-focus-ring")
    page.keyboard.press("Enter")

    expect(page).to_have_title("Check the message · test pymap · pymap admin")
    tab_to("Deliver this message")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("2.0.0 Message delivered")
    expect(page.get_by_role("status")).to_contain_text("\\Flagged")


def test_errors_are_announced_and_tied_to_their_fields(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    sign_in(page, panel.url, admin.name, admin.password)

    def assert_errors_announced_and_linked() -> None:
        expect(page.get_by_role("alert").first).to_be_visible()
        links = page.evaluate(_ERROR_LINKS)
        assert links["invalid"], "no control is marked invalid"
        for control, descriptions in links["invalid"]:
            assert any(descriptions), f"{control} is invalid but describes no error"
        assert not links["orphans"], f"field errors no control points to: {links['orphans']}"
        assert_accessible(page)

    # The deliver form, empty.
    page.goto(f"{panel.url}/mail/deliver/")
    page.get_by_label("User", exact=True).fill("")
    page.get_by_label("Keywords").fill("\\Recent")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert").first).to_contain_text("Please correct")
    user = page.get_by_label("User", exact=True)
    expect(user).to_have_attribute("aria-invalid", "true")
    expect(user).to_have_accessible_description(re.compile("This field is required"))
    expect(page.get_by_label("From", exact=True)).to_have_accessible_description(
        re.compile("Enter the sender's address")
    )
    assert_errors_announced_and_linked()
    screenshot(page, "deliver-errors")

    # Creating a user: a bad name and passwords that differ.
    page.goto(f"{panel.url}/users/new/")
    page.get_by_label("User name").fill("has space")
    page.get_by_label("New password", exact=True).fill("one long passphrase")
    page.get_by_label("New password again").fill("another long passphrase")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_label("User name")).to_have_accessible_description(re.compile("space"))
    assert_errors_announced_and_linked()

    # Importing without a file.
    page.goto(f"{panel.url}/mail/import/")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_label("mbox archive or .eml files")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_errors_announced_and_linked()


def test_error_pages_are_accessible(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    plain = pymap_user("browser-plain")
    page = new_page()
    sign_in(page, panel.url, plain.name, plain.password)

    page.goto(f"{panel.url}/users/user/?name=demouser")
    expect(page).to_have_title("Not allowed · test pymap · pymap admin")
    expect(page.get_by_role("alert")).to_contain_text("refused")
    assert_accessible(page)
    screenshot(page, "error-403")

    page.goto(f"{panel.url}/no-such-page/")
    expect(page).to_have_title("Not found · test pymap · pymap admin")
    expect(page.get_by_role("alert")).to_contain_text("There is no page at this address.")
    assert_accessible(page)
    screenshot(page, "error-404")

    # A form whose CSRF cookie has gone (the browser dropped it): 403, explained.
    page.goto(f"{panel.url}/mail/deliver/")
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Preview").click()
    expect(page).to_have_title("Form expired · test pymap · pymap admin")
    assert_accessible(page)

    page.goto(f"{panel.url}/audit/")
    expect(page).to_have_title("Audit log · test pymap · pymap admin")
    expect(page.get_by_role("table")).to_contain_text("Sign-in")
    assert_accessible(page)
    screenshot(page, "audit")


def test_health_badge_follows_the_server_without_a_reload_then_503(
    new_page: NewPage,
) -> None:
    """On a pymap of its own, which the test stops."""
    page = new_page()
    with PymapProcess() as own_pymap, PanelProcess(own_pymap.socket_path) as own_panel:
        page.clock.install()
        page.goto(f"{own_panel.url}/accounts/sign-in/")
        page.get_by_role("radio", name="Token").check()
        page.get_by_role("textbox", name="Token").fill(own_pymap.admin_token)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_title("Dashboard · test pymap · pymap admin")
        badge = page.get_by_role("region", name="Mail server").get_by_role("status")
        expect(badge).to_have_text("Healthy")
        page.evaluate("() => { window.sameDocument = true; }")

        own_pymap.stop()
        page.clock.run_for(16_000)  # the badge refreshes every 15 seconds
        expect(badge).to_have_text("Unknown")
        expect(page.get_by_role("region", name="Mail server")).to_contain_text("unreachable")
        assert page.evaluate("() => window.sameDocument === true"), "the page was reloaded"
        assert_accessible(page)

        page.reload()
        expect(page).to_have_title("Mail server unreachable · test pymap · pymap admin")
        expect(page.get_by_role("alert")).to_contain_text("unreachable")
        assert_accessible(page)
        screenshot(page, "error-503")
