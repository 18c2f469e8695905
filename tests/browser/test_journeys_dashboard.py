"""The dashboard's recent activity and version, times in the operator's own
zone (offered from the browser's), and the favicon."""

from __future__ import annotations

import re

from playwright.sync_api import Response, expect

from devtools.panel_process import PanelProcess

from ..support.browser import NewPage, assert_accessible, screenshot, sign_in
from ..support.pymap_users import MakeUser


def test_the_dashboard_shows_recent_activity_and_the_panels_version(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page()
    missing: list[str] = []

    def note_missing(response: Response) -> None:
        if response.status == 404:
            missing.append(response.url)

    page.on("response", note_missing)
    admin = pymap_user("browser-dash", roles=["admin"])
    sign_in(page, panel.url, admin.name, "not the password")
    sign_in(page, panel.url, admin.name, admin.password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    server = page.get_by_role("region", name="Mail server")
    expect(server).to_contain_text(re.compile(r"This panel's version\s*\d+\.\d+"))
    activity = page.get_by_role("region", name="Recent activity")
    failed = activity.get_by_role("region", name="Failed sign-ins, last 24 hours")
    expect(failed).to_contain_text(admin.name)
    expect(failed).to_contain_text("InvalidAuth")
    failed.get_by_role("link", name=re.compile(r"^\d+ failed sign-ins?$")).click()
    expect(page).to_have_title("Audit log · test pymap · pymap admin")
    expect(page.get_by_label("Outcome")).to_have_value("not-ok")
    expect(page.get_by_role("table")).to_contain_text("InvalidAuth")
    page.go_back()
    assert_accessible(page)
    screenshot(page, "dashboard-activity")
    # The icon is there (no page asked for one in vain).
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon is not None
    assert page.request.get(f"{panel.url}{icon}").ok
    assert page.request.get(f"{panel.url}/favicon.ico").ok
    assert not missing, missing


def test_times_follow_the_zone_the_browser_offers_and_the_choice_is_kept(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(timezone_id="Asia/Tokyo")
    operator = pymap_user("browser-tokyo")
    sign_in(page, panel.url, operator.name, operator.password)
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text("UTC")
    offer = page.get_by_role("button", name="Show times in Asia/Tokyo")
    expect(offer).to_be_visible()
    assert_accessible(page)
    offer.click()
    expect(page.get_by_role("status").first).to_have_text("Times are now shown in Asia/Tokyo.")
    expect(banner).to_contain_text("JST")
    expect(page.get_by_role("button", name="Show times in Asia/Tokyo")).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("columnheader", name="When (Asia/Tokyo)")).to_be_visible()

    # A new session (another browser, another zone) keeps the choice.
    other = new_page(timezone_id="Europe/Paris")
    sign_in(other, panel.url, operator.name, operator.password)
    expect(other.get_by_role("banner")).to_contain_text("JST")
    other.get_by_role("banner").get_by_role("link", name="Time zone").click()
    expect(other).to_have_title("Time zone · test pymap · pymap admin")
    expect(other.get_by_label("Show times in")).to_have_value("Asia/Tokyo")
    other.get_by_role("button", name="Use my browser's zone").click()
    expect(other.get_by_label("Show times in")).to_have_value("Europe/Paris")
    assert_accessible(other)
    screenshot(other, "time-zone")
    other.get_by_label("Show times in").select_option(label="The panel's zone (UTC)")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_role("status").first).to_have_text("Times are now shown in UTC.")
    expect(other.get_by_role("banner")).to_contain_text("UTC")
