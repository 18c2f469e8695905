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

from ..support.browser import NewPage, assert_accessible, screenshot, sign_in
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


def _pieces(secret: str) -> list[str]:
    """The secret and slices of it, so that a cut or wrapped copy is found too."""
    return [secret] + [secret[i : i + 16] for i in range(0, max(1, len(secret) - 16), 40)]


def test_no_token_or_password_reaches_the_panels_output_or_the_audit_log(
    page: Page, new_page: NewPage, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("quiet-admin", roles=["admin"])
    target = pymap_user("quiet-target")
    wrong = f"wrong-{admin.password[::-1]}"
    log_start = panel.log_path.stat().st_size
    # A refused sign-in, then the right one; issue a token and narrow it.
    sign_in(page, panel.url, admin.name, wrong)
    expect(page.get_by_role("alert")).to_contain_text("was not accepted")
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/tokens/")
    page.get_by_label("User", exact=True).fill(target.name)
    page.get_by_label("Valid for").fill("10")
    page.get_by_label("Unit").select_option("minutes")
    page.get_by_role("button", name="Issue token").click()
    issued = page.get_by_label("Token", exact=True).input_value().strip()
    assert works(pymap, issued, target.name)
    page.get_by_role("link", name="Inspect or narrow a token").first.click()
    page.get_by_label("Token", exact=True).fill(issued)
    page.get_by_label("Expire in (optional)").fill("5")
    page.get_by_label("Unit").select_option("minutes")
    page.get_by_role("button", name="Inspect or narrow").click()
    narrowed = page.get_by_role("textbox", name="Narrowed token").input_value().strip()
    assert narrowed != issued
    # Both tokens sign in elsewhere; a mangled one and the admin token too.
    for token in (narrowed, issued[:-6] + "AAAAAA", pymap.admin_token):
        other = new_page()
        other.goto(f"{panel.url}/accounts/sign-in/")
        other.get_by_role("radio", name="Token").check()
        other.get_by_role("textbox", name="Token").fill(token)
        other.get_by_role("button", name="Sign in").click()
        other.wait_for_load_state()
    exports = [
        page.request.get(f"{panel.url}/audit/export.{kind}").text() for kind in ("csv", "json")
    ]
    assert all(target.name in text and "token-issue" in text for text in exports)
    output = panel.log_path.read_bytes()[log_start:].decode("utf-8", "replace")
    assert "audit: " in output  # the audit logger's lines are in it
    secrets = {
        "the admin's password": admin.password,
        "the target's password": target.password,
        "the wrong password": wrong,
        "the issued token": issued,
        "the narrowed token": narrowed,
        "the admin token": pymap.admin_token,
    }
    for where, text in [("uvicorn's output", output), *zip(("CSV", "JSON"), exports, strict=True)]:
        for what, secret in secrets.items():
            if any(piece in text for piece in _pieces(secret)):
                # Named, not shown: the failure report must not print it either.
                pytest.fail(f"{what} is in the {where}")
    page.goto(f"{panel.url}/audit/")
    expect(page.get_by_role("main")).to_contain_text("Issue token")
    screenshot(page, "audit-after-token-journey")
