"""What the browser tests share: the window sizes, screenshots, axe-core and
contrast checks, and the steps many journeys take (sign in, sign out)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess

from .pymap_users import MakeUser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
#: axe-core impacts that fail a test.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
#: Contrast a focus ring or a field's border needs against what surrounds it
#: (WCAG 2.2 SC 1.4.11); axe-core does not measure these.
NON_TEXT_CONTRAST = 3.0


Scheme = Literal["light", "dark"]
#: ``new_page(viewport=PHONE, color_scheme="dark", javascript=False, timezone_id="UTC")``
NewPage = Callable[..., Page]


def screenshot(page: Page, name: str, *, readme: bool = False) -> Path:
    """Save a full-page screenshot; ``readme`` also refreshes the README copy on request.

    The README copy shows what the window shows (the top of a long page), so
    the pictures stay few kilobytes and alike in size.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    if readme and os.environ.get("UPDATE_README_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SHOTS / path.name), animations="disabled")
    return path


def after_shot(page: Page, name: str) -> None:
    """An issue's after screenshot (whole page) for its closing note, refreshed on
    request like the README's; the artifacts copy is always saved."""
    screenshot(page, name)
    if os.environ.get("UPDATE_README_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        path = README_SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")


def luminance(css_color: str) -> float:
    """WCAG relative luminance of a computed colour (``rgb(r, g, b)``)."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_color)[:3])

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two computed colours."""
    darker, lighter = sorted((luminance(first), luminance(second)))
    return (lighter + 0.05) / (darker + 0.05)


def assert_no_horizontal_scroll(page: Page) -> None:
    """Nothing on the page is wider than the window (360 px phones included)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url}: {overflow} px wider than the window"


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """Run axe-core in the page; fail on serious or critical violations."""
    results = _axe.run(page)
    blocking: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS
    ]
    details = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    )
    assert not blocking, f"{page.url}: accessibility violations\n{details}"


def sign_in(page: Page, base_url: str, name: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/sign-in/")
    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")


def start_stopped_import(page: Page, base_url: str, user: str, eml: Path) -> str:
    """Import ``eml`` into a mailbox ``user`` does not have: the worker stops
    at once (MailboxNotFound), the upload is kept, so the import page offers
    to cancel it and to delete its upload. Returns the import page's URL.
    Works with JavaScript off too (the page is reloaded until it has stopped)."""
    page.goto(f"{base_url}/mail/import/")
    page.get_by_label("User", exact=True).fill(user)
    page.get_by_label("Mailbox", exact=True).fill("Missing")
    page.get_by_label("mbox archive or .eml files").set_input_files(eml)
    page.get_by_role("button", name="Upload and import").click()
    expect(page).to_have_title(re.compile(r"^Import #\d+ · test pymap · pymap admin$"))
    progress = page.get_by_role("region", name="Progress")
    deadline = time.monotonic() + 20
    while "Stopped" not in progress.inner_text():
        assert time.monotonic() < deadline, "the import did not stop: is the worker running?"
        page.wait_for_timeout(250)
        page.reload()
    expect(progress).to_contain_text("does not exist")
    return page.url


def sign_in_as_operator(page: Page, panel: PanelProcess, pymap_user: MakeUser) -> None:
    """An operator who may act on other users: on maildir only the admin token is."""
    if pymap_user.backend != "maildir":
        admin = pymap_user("browser-admin", roles=["admin"])
        sign_in(page, panel.url, admin.name, admin.password)
        return
    page.goto(f"{panel.url}/accounts/sign-in/")
    page.get_by_role("radio", name="Token").check()
    page.get_by_role("textbox", name="Token").fill(pymap_user.pymap.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
