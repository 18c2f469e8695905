"""The token pages in a real browser: a token issued here works with
pymap-admin until its expiry and not after; a token narrowed here is refused
for another user and after its shorter life; the copy button; axe-core."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from adminpanel.pymap.tokens import read_token
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in
from ..support.pymap_users import MakeUser
from ..support.tokens import refusal, works

pytestmark = pytest.mark.backends("dict")


def _wait_for_expiry(token: str) -> None:
    expires_at = read_token(token).expires_at
    assert expires_at is not None
    time.sleep(max(0.0, expires_at.timestamp() - time.time()) + 1.0)


def test_issue_a_short_token_use_it_and_narrow_another(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin = pymap_user("browser-admin", roles=["admin"])
    target, other = pymap_user("browser-target"), pymap_user("browser-other")
    sign_in(page, panel.url, admin.name, admin.password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    expect(page).to_have_title("Issue a token · test pymap · pymap admin")
    expect(page.get_by_role("heading", name="A token cannot be revoked")).to_be_visible()
    page.get_by_label("User", exact=True).fill(target.name)
    page.get_by_label("Valid for").fill("5")
    page.get_by_label("Unit").select_option("seconds")
    page.get_by_role("button", name="Issue token").click()

    expect(page).to_have_title("Token issued · test pymap · pymap admin")
    field = page.get_by_label("Token", exact=True)
    expect(field).not_to_be_editable()
    token = field.input_value().strip()
    assert works(pymap, token, target.name)
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").strip() == token
    expect(page.get_by_role("main")).to_contain_text("login -t -s")
    assert_accessible(page)
    screenshot(page, "token-issued")
    _wait_for_expiry(token)
    assert "InvalidAuth" in refusal(pymap, token, target.name)

    # A longer one, narrowed on the inspect page to one user and two seconds.
    page.get_by_role("link", name="Issue another token").click()
    page.get_by_label("User", exact=True).fill(admin.name)
    page.get_by_label("Valid for").fill("10")
    page.get_by_label("Unit").select_option("minutes")
    page.get_by_role("button", name="Issue token").click()
    wide = page.get_by_label("Token", exact=True).input_value().strip()
    assert works(pymap, wide, other.name)

    page.get_by_role("link", name="Inspect or narrow a token").first.click()
    expect(page).to_have_title("Inspect or narrow a token · test pymap · pymap admin")
    page.get_by_label("Token", exact=True).fill("not a token at all")
    page.get_by_role("button", name="Inspect or narrow").click()
    expect(page.get_by_role("alert").first).to_contain_text("This is not a pymap token")
    assert_accessible(page)

    page.get_by_label("Token", exact=True).fill(wide)
    page.get_by_label("Expire in (optional)").fill("1")
    page.get_by_label("Unit").select_option("hours")
    page.get_by_role("button", name="Inspect or narrow").click()
    expect(page.get_by_role("alert").first).to_contain_text("a later expiry has no effect")

    page.get_by_label("Token", exact=True).fill(wide)
    page.get_by_label("Expire in (optional)").fill("5")
    page.get_by_label("Unit").select_option("seconds")
    page.get_by_label("Act as (optional)").fill(target.name)
    page.get_by_role("button", name="Inspect or narrow").click()
    narrowed = page.get_by_role("textbox", name="Narrowed token").input_value().strip()
    assert works(pymap, narrowed, target.name)
    assert "InvalidAuth" in refusal(pymap, narrowed, other.name)
    expect(page.get_by_role("main")).to_contain_text(f"A login token of {admin.name}")
    assert_accessible(page)
    screenshot(page, "token-narrowed")
    _wait_for_expiry(narrowed)
    assert "InvalidAuth" in refusal(pymap, narrowed, target.name)
    assert works(pymap, wide, other.name), "the pasted token is unchanged"
