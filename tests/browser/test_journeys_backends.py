"""Journeys that must hold on every pymap backend (dict, maildir, redis), in a
real browser: a password change or an edit never changes a user's roles, a
create never replaces a user, a concurrent edit reaches the conflict page,
and what the backend would misread is refused before any write. What the
server kept is read with ``pymap-admin`` and pymap's own files."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import NewPage, assert_accessible, screenshot, sign_in_as_operator
from ..support.pymap_users import MakeUser
from ..support.stored import stored_user

NEW_PASSWORD = "a fresh long passphrase"


def test_password_changes_and_edits_keep_the_users_own_roles(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    sign_in_as_operator(page, panel, pymap_user)
    target = pymap_user("browser-kept", roles=["editor"])
    page.goto(f"{panel.url}/users/user/?name={target.name}")
    main = page.get_by_role("main")
    expect(main).to_contain_text("editor")
    expect(main.locator(".role")).to_have_text(["editor"])  # never the caller's admin role
    expect(page.get_by_role("main")).to_contain_text("Protection against lost edits")
    assert_accessible(page)
    screenshot(page, f"backend-{pymap.backend}-user")

    page.get_by_role("link", name="Change password").click()
    page.get_by_role("radio", name="Type the new password").check()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text(f"The password of {target.name} was changed")
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"editor"}

    page.get_by_role("link", name="Edit roles and parameters").click()
    expect(page.get_by_role("checkbox", name="Admin role")).not_to_be_checked()
    page.get_by_label("Other roles").fill("auditor")
    page.get_by_label("Current password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {target.name}: changed the roles")
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"auditor"}


def test_create_never_replaces_and_what_the_backend_misreads_is_refused(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    sign_in_as_operator(page, panel, pymap_user)
    existing = pymap_user("browser-taken", roles=["editor"])
    page.goto(f"{panel.url}/users/new/")
    page.get_by_label("User name").fill(existing.name)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    stored = stored_user(pymap, existing.name)
    assert stored is not None
    assert stored.roles == {"editor"}

    name = f"browser-refused-{uuid.uuid4().hex[:8]}"
    if pymap.backend == "redis":
        page.get_by_label("User name").fill(name)
        page.get_by_label("Name of parameter 1").fill("role")
        page.get_by_label("Value of parameter 1").fill("admin")
        expected = "would read it as the user's role"
    elif pymap.backend == "maildir":
        name += ",other"
        page.get_by_label("User name").fill(name)
        expected = "cannot contain ','"
    else:
        return  # dict reads nothing in its own syntax
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    expect(page.get_by_role("main")).to_contain_text(expected)
    assert_accessible(page)
    screenshot(page, f"backend-{pymap.backend}-refused")
    assert stored_user(pymap, name) is None


def test_two_operators_editing_one_user_reach_the_conflict_page(
    new_page: NewPage, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    target = pymap_user("browser-race", roles=["editor"])
    first, second = new_page(), new_page()
    for tab in (first, second):
        sign_in_as_operator(tab, panel, pymap_user)
        tab.goto(f"{panel.url}/users/edit/?name={target.name}")
    first.get_by_label("Other roles").fill("first")
    first.get_by_label("Current password", exact=True).fill(target.password)
    first.get_by_role("button", name="Save changes").click()
    expect(first.get_by_role("status")).to_contain_text("Saved")

    second.get_by_label("Other roles").fill("second")
    second.get_by_label("Current password", exact=True).fill(target.password)
    second.get_by_role("button", name="Save changes").click()
    expect(second).to_have_title(re.compile("^Conflict"))
    expect(second.get_by_role("alert").first).to_contain_text("Nothing was overwritten")
    assert_accessible(second)
    stored = stored_user(pymap, target.name)
    assert stored is not None
    assert stored.roles == {"first"}
