"""Second factors in a real browser: a passkey with Chromium's virtual
authenticator (the DevTools protocol's WebAuthn domain, through Playwright's
CDP session), and an authenticator app whose codes the test computes.

WebAuthn needs a host name, so these journeys reach the panel at
http://localhost:PORT (the relying-party ID defaults to ``localhost``, the
first host name in the panel's DJANGO_ALLOWED_HOSTS).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in, sign_out
from ..support.pymap_users import MakeUser

pytestmark = pytest.mark.backends("dict")


def _localhost(panel: PanelProcess) -> str:
    return panel.url.replace("127.0.0.1", "localhost")


def _virtual_authenticator(page: Page) -> tuple[Any, str]:
    """A platform authenticator that keeps resident keys and verifies the
    user by itself (no prompt)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _title(page: Page, title: str) -> None:
    expect(page).to_have_title(f"{title} · test pymap · pymap admin")


def test_enrol_a_passkey_sign_out_and_sign_in_with_it(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    base = _localhost(panel)
    user = pymap_user("browser-passkey")
    cdp, authenticator = _virtual_authenticator(page)
    sign_in(page, base, user.name, user.password)
    _title(page, "Dashboard")
    page.get_by_role("banner").get_by_role("link", name="Second factor").click()
    _title(page, "Second factor")
    page.get_by_role("link", name="Add a passkey or security key").click()
    _title(page, "Add a passkey")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Add passkey").click()
    _title(page, "Recovery codes")
    expect(page.get_by_role("status")).to_contain_text("Second factor “laptop” added.")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    page.get_by_role("link", name=re.compile("back to your factors")).click()
    expect(page.get_by_role("row", name=re.compile("laptop"))).to_contain_text("Passkey")

    sign_out(page)
    sign_in(page, base, user.name, user.password)
    _title(page, "Second factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # not signed in yet
    assert_accessible(page)
    screenshot(page, "second-factor-prompt")
    page.get_by_role("button", name="Use a passkey").click()
    _title(page, "Dashboard")
    expect(page.get_by_role("banner")).to_contain_text(user.name)
    page.get_by_role("banner").get_by_role("link", name="Second factor").click()
    expect(page.get_by_role("row", name=re.compile("laptop"))).not_to_contain_text("never")


def test_without_the_passkey_the_sign_in_does_not_complete(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    base = _localhost(panel)
    user = pymap_user("browser-passkey")
    cdp, authenticator = _virtual_authenticator(page)
    sign_in(page, base, user.name, user.password)
    page.goto(f"{base}/second-factor/add/passkey/")
    page.get_by_label("Name").fill("key")
    page.get_by_role("button", name="Add passkey").click()
    _title(page, "Recovery codes")
    sign_out(page)
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    sign_in(page, base, user.name, user.password)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_contain_text("The passkey gave no answer")
    page.goto(f"{base}/")
    _title(page, "Sign in")


def test_enrol_an_authenticator_app_and_sign_in_with_its_code(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    base = panel.url
    user = pymap_user("browser-totp")
    sign_in(page, base, user.name, user.password)
    page.goto(f"{base}/second-factor/add/app/")
    expect(page.locator(".qr svg")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "second-factor-app")
    secret = page.locator("[data-totp-secret]").inner_text()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Add").click()
    _title(page, "Recovery codes")
    sign_out(page)
    sign_in(page, base, user.name, user.password)
    page.get_by_label("Code").fill("000000" if totp.at(time.time() + 30) != "000000" else "1")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    assert_accessible(page)
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Confirm", exact=True).click()
    _title(page, "Dashboard")


def test_with_the_policy_on_a_new_admin_enrols_before_anything_else(
    page: Page, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    """On a panel of its own with PANEL_REQUIRE_SECOND_FACTOR=admins."""
    admin = pymap_user("browser-new-admin", roles=["admin"])
    policy = {"PANEL_REQUIRE_SECOND_FACTOR": "admins"}
    with PanelProcess(pymap.socket_path, extra_env=policy) as own_panel:
        sign_in(page, own_panel.url, admin.name, admin.password)
        _title(page, "Second factor")
        expect(page.get_by_role("alert")).to_contain_text("no other page opens before")
        assert_accessible(page)
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Users", exact=True
        ).click()
        _title(page, "Second factor")  # sent back
        page.goto(f"{own_panel.url}/audit/")
        _title(page, "Second factor")
        page.get_by_role("link", name="Add an authenticator app").click()
        totp = pyotp.TOTP(page.locator("[data-totp-secret]").inner_text())
        page.get_by_label("Code from the app").fill(totp.now())
        page.get_by_role("button", name="Add").click()
        _title(page, "Recovery codes")
        codes = page.locator(".recovery-codes li").all_inner_texts()
        assert len(codes) == 10
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Users", exact=True
        ).click()
        _title(page, "Users")
        # Signing in again: a recovery code works once.
        sign_out(page)
        sign_in(page, own_panel.url, admin.name, admin.password)
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Confirm", exact=True).click()
        _title(page, "Dashboard")
        sign_out(page)
        sign_in(page, own_panel.url, admin.name, admin.password)
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Confirm", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("not accepted")
