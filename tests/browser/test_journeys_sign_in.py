"""Journeys through sign-in, the dashboard and sign-out, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in
from ..support.pymap_users import MakeUser

# The pages look and behave alike on every backend; these journeys run on
# dict, and test_journeys_backends.py runs what differs on all three.
pytestmark = pytest.mark.backends("dict")


def test_sign_in_with_password_shows_dashboard_then_sign_out(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("browser", roles=["admin"])
    page.goto(panel.url)
    expect(page).to_have_title("Sign in · test pymap · pymap admin")
    assert_accessible(page)
    screenshot(page, "sign-in")

    sign_in(page, panel.url, user.name, user.password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    expect(page.get_by_role("banner")).to_contain_text(user.name)
    expect(page.get_by_role("banner")).to_contain_text("admin role")
    expect(page.get_by_role("main")).to_contain_text("0.36.7")
    expect(page.get_by_role("main")).to_contain_text("SERVING")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "dashboard", readme=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_title("Sign in · test pymap · pymap admin")
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    assert_accessible(page)
    page.goto(panel.url)
    expect(page).to_have_title("Sign in · test pymap · pymap admin")


def test_sign_in_with_the_admin_token(page: Page, panel: PanelProcess, pymap: PymapProcess) -> None:
    page.goto(f"{panel.url}/accounts/sign-in/")
    page.get_by_role("radio", name="Token").check()
    # Only the chosen method's fields show (static/panel/password-choice.js).
    expect(page.get_by_label("User name", exact=True)).to_be_hidden()
    page.get_by_role("textbox", name="Token").fill(pymap.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    expect(page.get_by_role("banner")).to_contain_text("admin token")
    assert pymap.admin_token not in page.content()
    assert_accessible(page)
    screenshot(page, "dashboard-admin-token")


def test_wrong_password_is_announced_and_keeps_the_name(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("browser")
    sign_in(page, panel.url, user.name, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("was not accepted")
    expect(page.get_by_label("User name", exact=True)).to_have_value(user.name)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert_accessible(page)
    screenshot(page, "sign-in-refused")


def test_keyboard_alone_signs_in_with_a_visible_focus_ring(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    user = pymap_user("keyboard")
    page.goto(f"{panel.url}/accounts/sign-in/")
    page.keyboard.press("Tab")  # the skip link comes first
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.get_by_label("User name", exact=True).focus()
    page.keyboard.type(user.name)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")


def test_phone_in_dark_mode_has_no_horizontal_scroll(
    dark_phone_page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = dark_phone_page
    user = pymap_user("phone")
    page.goto(f"{panel.url}/accounts/sign-in/")
    assert_accessible(page)
    screenshot(page, "sign-in-phone-dark", readme=True)
    sign_in(page, panel.url, user.name, user.password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert_accessible(page)
    screenshot(page, "dashboard-phone-dark", readme=True)
