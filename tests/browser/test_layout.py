"""Layout and look: light and dark, phones and wide screens, and the panel
without JavaScript."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess

from ..support.browser import (
    NON_TEXT_CONTRAST,
    PHONE,
    NewPage,
    assert_accessible,
    assert_no_horizontal_scroll,
    contrast,
    luminance,
    screenshot,
    sign_in,
)
from ..support.pymap_users import MakeUser

WIDE = {"width": 1920, "height": 1000}

# The pages look and behave alike on every backend; these journeys run on
# dict, and test_journeys_backends.py runs what differs on all three.
pytestmark = pytest.mark.backends("dict")


def test_pages_follow_the_light_or_dark_preference(new_page: NewPage, panel: PanelProcess) -> None:
    for scheme in ("light", "dark"):
        page = new_page(color_scheme=scheme)
        page.goto(f"{panel.url}/accounts/sign-in/")
        body = page.locator("body")
        background = body.evaluate("(el) => getComputedStyle(el).backgroundColor")
        text = body.evaluate("(el) => getComputedStyle(el).color")
        if scheme == "light":
            assert luminance(background) > 0.8 > 0.05 > luminance(text)
        else:
            assert luminance(background) < 0.05 < 0.8 < luminance(text)
        # A field's outline stands out from the card it sits on (WCAG 2.2 SC 1.4.11).
        field = page.get_by_label("User name", exact=True)
        border = field.evaluate("(el) => getComputedStyle(el).borderTopColor")
        card = page.locator("form.card").evaluate("(el) => getComputedStyle(el).backgroundColor")
        assert contrast(border, card) >= NON_TEXT_CONTRAST, (scheme, border, card)


def test_a_wide_screen_keeps_one_readable_column_but_the_audit_table_uses_the_width(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(viewport=WIDE)
    user = pymap_user("browser-wide", roles=["admin"])
    sign_in(page, panel.url, user.name, user.password)
    page.goto(f"{panel.url}/users/")
    brand = page.get_by_role("link", name="pymap admin").bounding_box()
    first_tab = page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard")
    heading = page.get_by_role("heading", level=1).bounding_box()
    main = page.get_by_role("main").bounding_box()
    assert brand is not None
    assert heading is not None
    assert main is not None
    # Header, navigation and content start on one line, in a column of at
    # most 72rem centred in the window.
    assert abs(brand["x"] - heading["x"]) < 1
    tab_text_x = first_tab.evaluate(
        "(el) => el.getBoundingClientRect().left + parseFloat(getComputedStyle(el).paddingLeft)"
    )
    assert abs(tab_text_x - heading["x"]) < 1
    assert main["width"] <= 72 * 16 + 2 * 20
    left_margin, right_margin = main["x"], WIDE["width"] - (main["x"] + main["width"])
    assert abs(left_margin - right_margin) < 2
    assert_no_horizontal_scroll(page)

    # The audit log's table takes the window's width, and no word in it breaks.
    # Only this test's events: other journeys' rows in the shared panel would
    # size the columns, which is not what is measured here.
    page.goto(f"{panel.url}/audit/?operator={user.name}")
    table = page.get_by_role("table").bounding_box()
    assert table is not None
    assert table["width"] > 72 * 16
    brand = page.get_by_role("link", name="pymap admin").bounding_box()
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert brand is not None
    assert heading is not None
    assert abs(brand["x"] - heading["x"]) < 1  # the header widens with it
    for name in ("When (UTC)", "Action", "Target", "Outcome", "Client address"):
        box = page.get_by_role("columnheader", name=name).bounding_box()
        assert box is not None
        assert box["height"] < 2.5 * 16, f"{name!r} wraps"
    # This test's own sign-in: other journeys' events in the shared panel may
    # carry details long enough to wrap, which is not what is measured here.
    row = page.get_by_role("row").filter(has_text="Sign-in").filter(has_text=user.name).first
    when = row.get_by_role("cell").first
    when_box = when.bounding_box()
    assert when_box is not None
    assert when_box["height"] < 3 * 16  # one line, not four
    assert re.fullmatch(r"\d\d:\d\d", when.locator("[aria-hidden=true]").inner_text())
    expect(when.locator("time")).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d "))
    assert_no_horizontal_scroll(page)
    screenshot(page, "audit-wide")


def test_the_audit_log_filters_by_a_listed_outcome_and_links_each_target(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-auditor", roles=["admin"])
    owner = pymap_user("browser-audited")
    sign_in(page, panel.url, admin.name, "a wrong password")
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/user/?name={owner.name}")
    page.goto(f"{panel.url}/audit/")
    outcome = page.get_by_label("Outcome")
    expect(outcome.get_by_role("option", name="Anything but ok")).to_have_count(1)
    outcome.select_option(label="InvalidAuth")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text=admin.name)).to_have_count(1)
    expect(rows.filter(has_text="InvalidAuth")).not_to_have_count(0)
    expect(rows.filter(has_text=re.compile(r"\bok\b"))).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Clear").click()
    expect(page.get_by_role("columnheader", name="Server")).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text("All of them are on the server")


def test_a_phone_in_light_mode_reads_the_audit_log_as_two_line_cards(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(viewport=PHONE)
    user = pymap_user("browser-phone", roles=["admin"])
    sign_in(page, panel.url, user.name, user.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page).to_have_title("Audit log · test pymap · pymap admin")
    row = page.get_by_role("row").filter(has_text=user.name).first
    expect(row).to_contain_text("Sign-in")
    # The table keeps its header cells for screen readers.
    expect(page.get_by_role("columnheader", name="Operator")).to_have_count(1)
    box = row.bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    # Two lines: when, action and outcome; then who and from where (which
    # wraps once for a long name). Empty fields (a sign-in has no target,
    # changes or detail) are left out. An event used to take 357 px.
    assert box["height"] <= 100, box
    cells = row.locator("td")  # hidden cells have no role to find them by
    for index in (3, 5, 6):  # Target, Detail, Changed
        expect(cells.nth(index)).to_be_hidden()
    expect(row.get_by_role("cell")).to_have_count(5)
    operator = cells.nth(1)
    expect(operator).to_have_text(user.name)
    assert "by" in operator.evaluate("(el) => getComputedStyle(el, '::before').content")
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    events = page.get_by_role("heading", name=re.compile(r"^\d+ events?$"))
    events.evaluate("(el) => el.scrollIntoView()")  # the README shows the events
    screenshot(page, "audit-phone", readme=True)


def test_sign_in_and_deliver_work_without_javascript(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(javascript=False)
    owner = pymap_user("browser-nojs", roles=["admin"])
    subject = f"No script {uuid.uuid4().hex[:8]}"
    page.goto(f"{panel.url}/accounts/sign-in/")
    # No script hides the group of the method not chosen.
    expect(page.get_by_role("textbox", name="Token")).to_be_visible()
    sign_in(page, panel.url, owner.name, owner.password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    expect(page.get_by_role("region", name="Mail server")).to_contain_text("SERVING")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliver").click()
    expect(page.get_by_label("User", exact=True)).to_have_value("")
    page.get_by_label("User", exact=True).fill(owner.name)
    page.get_by_role("checkbox", name="Answered").check()
    # Without the script every source's fields show; the choice says which counts.
    expect(page.get_by_label("From", exact=True)).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Paste the whole message")).check()
    page.get_by_label("Raw message").fill(f"Subject: {subject}\n\nSent without scripts.\n")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("main")).to_contain_text(subject)
    page.get_by_role("button", name="Deliver this message").click()
    result = page.get_by_role("status")
    expect(result).to_contain_text("2.0.0 Message delivered")
    expect(result).to_contain_text(re.compile(r"UID\s*\d+"))
    screenshot(page, "deliver-result-without-javascript")

    # Without the script that hides the password fields an option does not
    # use, the edit form shows them all (with it, "New password" is hidden).
    page.goto(f"{panel.url}/users/edit/?name={owner.name}")
    expect(page.get_by_label("Current password", exact=True)).to_be_visible()
    expect(page.get_by_label("New password", exact=True)).to_be_visible()
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_title("Sign in · test pymap · pymap admin")
