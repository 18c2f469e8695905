"""Journeys through the user pages in a real browser, with axe-core checks."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import NewPage, assert_accessible, screenshot, sign_in, sign_out
from ..support.pymap_users import MakeUser

# The pages look and behave alike on every backend; these journeys run on
# dict, and test_journeys_backends.py runs what differs on all three.
pytestmark = pytest.mark.backends("dict")


def test_find_create_edit_and_delete_a_user(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    sign_in(page, panel.url, admin.name, admin.password)
    name = f"ops/alice%{uuid.uuid4().hex[:6]}"

    page.get_by_label("Find user").fill(name)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page).to_have_title("No such user · test pymap · pymap admin")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Create a user named")).click()

    expect(page.get_by_label("User name")).to_have_value(name)
    page.get_by_label("New password", exact=True).fill("a long enough passphrase")
    page.get_by_label("New password again").fill("a long enough passphrase")
    page.get_by_label("Other roles").fill("editor")
    page.get_by_label("Name of parameter 1").fill("quota")
    page.get_by_label("Value of parameter 1").fill("10G")
    assert_accessible(page)
    screenshot(page, "user-create")
    page.get_by_role("button", name="Create user").click()

    expect(page.get_by_role("status")).to_contain_text(f"User {name} was created.")
    expect(page.get_by_role("main")).to_contain_text("pbkdf2-sha256")
    assert_accessible(page)
    screenshot(page, "user-page")

    page.get_by_role("link", name="Edit roles and parameters").click()
    # With JavaScript only the field the chosen password option needs shows.
    expect(page.get_by_label("New password", exact=True)).to_be_hidden()
    page.get_by_label("Value of parameter 1").fill("20G")
    page.get_by_label("Current password", exact=True).fill("a long enough passphrase")
    assert_accessible(page)
    screenshot(page, "user-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("changed the parameter “quota”")
    token = service.login(pymap.server(), name, password="a long enough passphrase")
    assert service.get_user(pymap.server(), token, name).params == {"quota": "20G"}

    page.get_by_role("link", name="Delete user…").click()
    expect(page.get_by_role("main")).to_contain_text("all of its mail")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_role("status")).to_contain_text("were deleted")
    expect(page.get_by_role("main")).to_contain_text("Deleted")
    assert_accessible(page)
    with pytest.raises(Refused) as refused:
        service.get_user(pymap.server(), pymap.admin_token, name)
    assert refused.value.is_(RefusalKey.USER_NOT_FOUND)


def test_conflict_page_for_two_operators(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-race", roles=["editor"])
    other = page.context.browser.new_context() if page.context.browser else None
    assert other is not None
    second = other.new_page()
    try:
        for tab in (page, second):
            sign_in(tab, panel.url, admin.name, admin.password)
            tab.goto(f"{panel.url}/users/edit/?name={target.name}")
        page.get_by_label("Name of parameter 1").fill("quota")
        page.get_by_label("Value of parameter 1").fill("1G")
        page.get_by_label("Current password", exact=True).fill(target.password)
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("status")).to_contain_text("Saved")

        second.get_by_label("Other roles").fill("editor\nauditor")
        second.get_by_label("Current password", exact=True).fill(target.password)
        second.get_by_role("button", name="Save changes").click()
        expect(second).to_have_title(re.compile("^Conflict"))
        expect(second.get_by_role("alert").first).to_contain_text("Nothing was overwritten")
        assert_accessible(second)
        screenshot(second, "user-conflict")
    finally:
        other.close()


def test_a_user_without_the_admin_role_on_a_phone(
    dark_phone_page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = dark_phone_page
    user = pymap_user("browser-plain")
    sign_in(page, panel.url, user.name, user.password)
    expect(page.get_by_label("Find user")).to_have_count(0)
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Change your password").click()
    assert_accessible(page)
    screenshot(page, "user-own-password-phone-dark")
    page.get_by_label("Current password", exact=True).fill(user.password)
    page.get_by_role("radio", name="Type the new password").check()
    page.get_by_label("New password", exact=True).fill("my new passphrase")
    page.get_by_label("New password again").fill("my new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("You stay signed in")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    page.goto(f"{panel.url}/users/user/?name=demouser")
    expect(page).to_have_title("Not allowed · test pymap · pymap admin")
    expect(page.get_by_role("alert")).to_contain_text("refused to let")
    assert_accessible(page)


def test_find_a_user_with_the_header_search_box(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-found", roles=["editor"])
    sign_in(page, panel.url, admin.name, admin.password)
    search = page.get_by_role("search", name="Find a user")
    search.get_by_label("Find user").fill(target.name)
    search.get_by_label("Find user").press("Enter")
    expect(page).to_have_title(f"User {target.name} · test pymap · pymap admin")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"User {target.name}")
    expect(page.get_by_role("main")).to_contain_text("editor")
    assert_accessible(page)
    screenshot(page, "user-found", readme=True)


def test_edit_roles_keeping_the_password_then_sign_in_as_that_user(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-promoted", roles=["editor"])
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/user/?name={target.name}")
    page.get_by_role("link", name="Edit roles and parameters").click()
    page.get_by_role("checkbox", name="Admin role").check()
    page.get_by_label("Other roles").fill("editor\nauditor")
    expect(page.get_by_role("radio", name=re.compile("^Keep the current password"))).to_be_checked()
    page.get_by_label("Current password", exact=True).fill(target.password)
    assert_accessible(page)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {target.name}: changed the roles")
    expect(page.get_by_role("main")).to_contain_text("auditor")
    assert_accessible(page)
    screenshot(page, "user-roles-saved")
    sign_out(page)

    # The kept password still works: the user signs in and has the admin role now.
    sign_in(page, panel.url, target.name, target.password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    expect(page.get_by_role("banner")).to_contain_text(target.name)
    expect(page.get_by_role("banner")).to_contain_text("admin role")
    assert_accessible(page)


def test_change_a_password_then_sign_in_with_it(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(color_scheme="dark")
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-repassword")
    new_password = f"fresh passphrase {uuid.uuid4().hex[:6]}"
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/user/?name={target.name}")
    page.get_by_role("link", name="Change password").click()
    expect(page).to_have_title(f"Change password of {target.name} · test pymap · pymap admin")
    # A mismatch first: announced, linked to the field, nothing changed.
    page.get_by_role("radio", name="Type the new password").check()
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("correct")
    assert_accessible(page)
    screenshot(page, "user-password-mismatch-dark", readme=True)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"The password of {target.name} was changed."
    )
    assert_accessible(page)
    sign_out(page)

    sign_in(page, panel.url, target.name, target.password)
    expect(page.get_by_role("alert")).to_contain_text("was not accepted")
    sign_in(page, panel.url, target.name, new_password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    expect(page.get_by_role("banner")).to_contain_text(target.name)
