"""The list of every user in Chromium, on redis with a read-only Redis user."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in
from ..support.pymap_users import MakeUser
from ..support.stored import cli

pytestmark = pytest.mark.backends("redis")


@pytest.fixture(scope="module")
def listing_panel(pymap: PymapProcess) -> Iterator[PanelProcess]:
    """A panel whose user list reads the server's Redis as a user that may run
    SELECT, SCAN and MGET on pymap's user keys, and nothing else."""
    admin = redis.Redis.from_url(pymap.redis_url)
    name, password = f"panel-ro-{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    admin.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        commands=["-@all", "+select", "+scan", "+mget"],
        keys=[f"%R~{pymap.redis_prefix}/users/*"],
        reset=True,
    )
    database = pymap.redis_url.rsplit("/", 1)[1]
    env = {
        "PANEL_REDIS_URL": f"redis://{name}:{password}@127.0.0.1:6379/{database}",
        "PANEL_REDIS_USERS_PREFIX": f"{pymap.redis_prefix}/users",
    }
    try:
        with PanelProcess(pymap.socket_path, extra_env=env) as panel:
            yield panel
    finally:
        admin.acl_deluser(name)
        admin.close()


def _rows(page: Page) -> dict[str, str]:
    """User name -> the Roles cell, for the rows of the list's current page."""
    table = page.get_by_role("table", name=re.compile("^Users whose name starts with"))
    rows = table.get_by_role("row")
    shown = {}
    for index in range(1, rows.count()):  # the first row holds the headers
        cells = rows.nth(index).get_by_role("cell")
        shown[cells.nth(0).inner_text().strip()] = cells.nth(1).inner_text().strip()
    return shown


def test_the_list_shows_users_made_with_the_cli_and_pages_through_the_rest(
    page: Page,
    listing_panel: PanelProcess,
    pymap: PymapProcess,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    operator = pymap_user("browser-admin", roles=["admin"])
    tag = uuid.uuid4().hex[:8]
    password_file = tmp_path / "password"
    password_file.write_text(secrets.token_urlsafe(12))
    made = {f"{tag}-cli-alice": (), f"{tag}-cli-bob": ("--role", "admin")}
    for name, args in made.items():
        done = cli(pymap, "set-user", "--password-file", str(password_file), *args, name)
        assert done.returncode == 0, done.stderr
    # 150 more, written straight into Redis as pymap writes them (the JSON
    # pymap keeps for alice), so that the list has pages to go through.
    store = redis.Redis.from_url(pymap.redis_url)
    keys = f"{pymap.redis_prefix}/users/"
    record = json.loads(store.get(f"{keys}{tag}-cli-alice") or b"{}")
    with store.pipeline(transaction=False) as pipe:
        for index in range(150):
            pipe.set(f"{keys}{tag}-many-{index:03d}", json.dumps(dict(record, etag=str(index))))
        pipe.execute()
    store.close()

    sign_in(page, listing_panel.url, operator.name, operator.password)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Users", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Every user")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(tag)
    page.get_by_label("At the start of the name").check()
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("page 1$"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "user-list-redis")

    seen: dict[str, str] = {}
    pages = 0
    while True:
        pages += 1
        shown = _rows(page)
        assert not set(shown) & set(seen), "a user listed twice"
        seen.update(shown)
        next_page = page.get_by_role("link", name="Next page")
        if next_page.count() == 0:
            break
        next_page.click()
        expect(page.get_by_role("heading", name=re.compile(f"page {pages + 1}$"))).to_be_visible()
    assert pages >= 2  # 152 users, at least 50 a page (SCAN may give a page more)
    assert set(seen) == set(made) | {f"{tag}-many-{index:03d}" for index in range(150)}
    assert seen[f"{tag}-cli-bob"] == "admin"
    assert seen[f"{tag}-cli-alice"] == "none"
    screenshot(page, "user-list-redis-last-page")

    page.get_by_role("link", name="First page").click()
    page.get_by_label("Name", exact=True).fill(f"{tag}-cli")
    page.get_by_label("Anywhere in the name").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=f"{tag}-cli-bob").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{tag}-cli-bob")


@pytest.mark.backends("dict")
def test_without_a_store_the_page_says_what_its_list_is_built_from(
    page: Page, panel: PanelProcess, pymap_user: MakeUser
) -> None:
    operator = pymap_user("browser-admin", roles=["admin"])
    seen = pymap_user("browser-seen")
    sign_in(page, panel.url, operator.name, operator.password)
    page.get_by_label("Find user").fill(seen.name)
    page.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Users", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Every user: not set up")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("built from the users this panel has seen")
    expect(page.get_by_role("main")).to_contain_text("there is no store the panel could read")
    expect(page.get_by_role("link", name=seen.name)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "user-list-not-set-up")
