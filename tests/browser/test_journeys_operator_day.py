"""Issue 16 in a real browser: a generated password shown once (point 1),
plain words with the server's own folded away (6), one search box and the
recent list (7), and work kept when a form or session expires (8).

Selected by label and role; axe-core checks each new page or state. The
``issue16-after-*`` screenshots in docs/screenshots/ come from here (the
``issue16-before-*`` ones were taken from the same pages before the change).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from adminpanel.pymap import service
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import (
    DESKTOP,
    PHONE,
    NewPage,
    after_shot,
    assert_accessible,
    sign_in,
    sign_out,
)
from ..support.pymap_users import MakeUser

pytestmark = pytest.mark.backends("dict")

GENERATE = re.compile("^Set a new password the panel generates")


def shown_password(page: Page) -> str:
    region = page.get_by_role("region", name="Shown only this once")
    expect(region).to_be_visible()
    password = region.locator("code").inner_text()
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", password), password
    return password


def test_set_a_generated_password_copy_it_and_sign_in_with_it(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-gen", roles=["editor"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, panel.url, admin.name, admin.password)
    page.get_by_label("Find user").fill(target.name)
    page.get_by_role("button", name="Open", exact=True).click()
    # The user page says, beside the edit button, what an edit needs.
    edit = page.get_by_role("link", name="Edit roles and parameters")
    expect(edit).to_have_accessible_description(re.compile("current password or a new one"))
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("radio", name=GENERATE)).to_be_checked()
    expect(page.get_by_label("New password", exact=True)).to_be_hidden()
    assert_accessible(page)
    after_shot(page, "issue16-after-user-password")
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_role("status").first).to_contain_text(
        f"The password of {target.name} was changed."
    )
    password = shown_password(page)
    copy = page.get_by_role("button", name="Copy the password")
    copy.click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == password
    assert password not in page.url
    assert_accessible(page)
    after_shot(page, "issue16-after-password-shown")
    page.get_by_role("link", name="Done: open the user's page").click()
    expect(page.get_by_role("main")).not_to_contain_text(password)

    # The password is what the server keeps: the user signs in with it.
    sign_out(page)
    sign_in(page, panel.url, target.name, password)
    expect(page).to_have_title("Dashboard · test pymap · pymap admin")
    assert service.login(pymap.server(), target.name, password=password)


def test_without_javascript_the_password_is_shown_as_text_and_typing_one_works(
    new_page: NewPage, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    page = new_page(viewport=PHONE, color_scheme="dark", javascript=False)
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-gen-nojs")
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/password/?name={target.name}")
    page.get_by_role("button", name="Change password").click()
    password = shown_password(page)
    expect(page.get_by_role("button", name="Copy the password")).to_be_hidden()
    # (axe-core needs JavaScript: the page is checked in the journey above.)
    assert service.login(pymap.server(), target.name, password=password)

    # Typing one: every field is there without the script.
    page.goto(f"{panel.url}/users/password/?name={target.name}")
    page.get_by_role("radio", name="Type the new password").check()
    page.get_by_label("New password", exact=True).fill("typed by the operator")
    page.get_by_label("New password again").fill("typed by the operator")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"The password of {target.name} was changed."
    )
    expect(page.get_by_role("region", name="Shown only this once")).to_have_count(0)
    assert service.login(pymap.server(), target.name, password="typed by the operator")


def test_the_edit_form_asks_about_the_password_first_and_can_generate_one(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-edit-gen")
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/edit/?name={target.name}")
    password_group = page.get_by_role("group", name="Password after this change")
    roles_group = page.get_by_role("group", name="Roles")
    expect(password_group).to_have_accessible_description(re.compile("keeps only a one-way hash"))
    password_box, roles_box = password_group.bounding_box(), roles_group.bounding_box()
    assert password_box is not None
    assert roles_box is not None
    assert password_box["y"] < roles_box["y"], "the password choice comes first"
    page.get_by_role("radio", name=GENERATE).check()
    expect(page.get_by_label("Current password", exact=True)).to_be_hidden()
    expect(page.get_by_text("shows it once, on the page that answers the save")).to_be_visible()
    page.get_by_role("radio", name="Type a new password").check()
    page.get_by_label("New password", exact=True).fill("secret typed here")
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("type", "password")
    page.get_by_label("Show the passwords as typed").check()
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("type", "text")
    page.get_by_label("New password", exact=True).fill("")
    page.get_by_role("radio", name=GENERATE).check()
    page.get_by_label("Name of parameter 1").fill("quota")
    page.get_by_label("Value of parameter 1").fill("5G")
    assert_accessible(page)
    after_shot(page, "issue16-after-user-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Saved {target.name}: changed the password and the parameter “quota”."
    )
    password = shown_password(page)
    token = service.login(pymap.server(), target.name, password=password)
    assert dict(service.get_user(pymap.server(), token, target.name).params) == {"quota": "5G"}


def test_plain_words_first_and_the_servers_own_words_folded_away(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page.goto(f"{panel.url}/accounts/sign-in/")
    act_as = page.get_by_label("Work as another user (optional)")
    expect(act_as).to_have_accessible_description(re.compile("with only their rights"))
    expect(page.locator("code", has_text="pymap-admin login")).to_have_count(1)
    expect(page.get_by_role("main")).not_to_contain_text("`")
    expect(page.get_by_role("banner")).not_to_contain_text("pymap-admin.sock")
    assert page.locator("input[maxlength]").count() == 0
    after_shot(page, "issue16-after-sign-in")

    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-words")
    sign_in(page, panel.url, admin.name, admin.password)
    server = page.get_by_role("region", name="Mail server")
    expect(server.get_by_role("status")).to_have_text("Healthy")
    expect(server.get_by_text("SERVING")).to_be_hidden()
    server.get_by_text("The server's exact words").click()
    expect(server.get_by_text("SERVING")).to_be_visible()
    assert_accessible(page)
    after_shot(page, "issue16-after-dashboard")

    page.goto(f"{panel.url}/users/user/?name={target.name}")
    record = page.get_by_role("region", name="Record")
    expect(record).to_contain_text("refused and shown as a conflict")
    expect(record.get_by_text(re.compile(r"\d{12,}"))).to_be_hidden()
    after_shot(page, "issue16-after-user-page")


def test_one_search_box_suggests_recent_names_and_the_list_keeps_what_was_done(
    new_page: NewPage, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    page = new_page(viewport=DESKTOP, color_scheme="dark")
    admin = pymap_user("browser-admin", roles=["admin"])
    sign_in(page, panel.url, admin.name, admin.password)
    name = f"browser-recent-{uuid.uuid4().hex[:6]}"
    page.goto(f"{panel.url}/users/")
    # One search box, the header's (a combobox once it suggests names).
    expect(page.get_by_role("search")).to_have_count(1)
    expect(page.get_by_label("Find user")).to_have_count(1)
    page.get_by_role("main").get_by_role("link", name="Create a user").click()
    page.get_by_label("User name").fill(name)
    page.get_by_label("New password", exact=True).fill("a long enough passphrase")
    page.get_by_label("New password again").fill("a long enough passphrase")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    page.get_by_role("link", name="Users", exact=True).click()
    row = page.get_by_role("row", name=re.compile(re.escape(name)))
    expect(row).to_contain_text("Created")  # not "Viewed": the view came after
    search = page.get_by_role("combobox", name="Find user")
    assert name in page.locator("#recent-user-names option").evaluate_all(
        "(options) => options.map((o) => o.value)"
    )
    expect(search).to_have_attribute("list", "recent-user-names")
    assert_accessible(page)
    after_shot(page, "issue16-after-users-index")

    search.fill(name)
    search.press("Enter")
    page.get_by_role("link", name="Audit history").click()
    expect(page).to_have_title("Audit log · test pymap · pymap admin")
    expect(page.get_by_label("Only this exact user")).to_be_checked()
    events = page.get_by_role("region", name=re.compile(r"^\d+ events?$"))
    expect(events).to_contain_text("Create user")
    page.go_back()
    page.get_by_role("link", name="Delete user…").click()
    page.get_by_role("button", name=re.compile("^Delete")).click()
    page.get_by_role("link", name="Users", exact=True).click()
    row = page.get_by_role("row", name=re.compile(re.escape(name)))
    expect(row).to_contain_text("deleted")
    expect(row.get_by_role("link", name=name)).to_have_count(0)
    expect(row.get_by_role("link", name="audit history")).to_be_visible()
    assert_accessible(page)


def test_an_expired_form_reloads_and_a_lost_session_returns_to_the_form(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    target = pymap_user("browser-expiry")
    sign_in(page, panel.url, admin.name, admin.password)
    form_url = f"{panel.url}/users/password/?name={target.name}"

    # The form's cookie removed: the refusal says so and reloads the form.
    page.goto(form_url)
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_title("Form expired · test pymap · pymap admin")
    expect(page.get_by_role("alert")).to_contain_text("did not send the panel's cookie for forms")
    assert_accessible(page)
    page.get_by_role("link", name="Reload this form").click()
    expect(page).to_have_url(form_url)
    expect(page.get_by_role("button", name="Change password")).to_be_visible()

    # The session cookie removed: sign in again, and land on the form again.
    page.context.clear_cookies(name="pymap_panel_session")
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_title("Sign in · test pymap · pymap admin")
    expect(page.get_by_role("alert")).to_contain_text("your browser sent no session cookie")
    expect(page.get_by_role("alert")).to_contain_text("What you sent was not saved")
    assert_accessible(page)
    page.get_by_label("User name", exact=True).fill(admin.name)
    page.get_by_label("Password", exact=True).fill(admin.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(form_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(target.name)


def test_a_warning_comes_before_the_idle_limit_and_stay_signed_in_keeps_the_session(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    admin = pymap_user("browser-admin", roles=["admin"])
    page.clock.install()
    sign_in(page, panel.url, admin.name, admin.password)
    page.goto(f"{panel.url}/users/")
    warning = page.get_by_role("alert")
    expect(warning).to_have_count(0)
    page.clock.run_for((30 - 5) * 60 * 1000 + 1000)  # 25 minutes later
    expect(warning).to_contain_text("signed out in about 5 minutes")
    assert_accessible(page)
    after_shot(page, "issue16-after-idle-warning")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_have_count(0)
    page.clock.run_for(31 * 60 * 1000)
    expect(warning).to_contain_text("You were signed out after 30 minutes without activity")
