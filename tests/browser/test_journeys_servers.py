"""Two servers from one servers file, through the browser: the header's
switcher, a sign-in to each kept side by side, the overview, and one server
stopped midway. The file's [pymap-admin] section is the one pymap-admin
save-args wrote (see tests/support/servers.py)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import NewPage, assert_accessible, screenshot
from ..support.pymap_users import MakeUser, make_user
from ..support.servers import NEXT_BACKEND, write_servers_file

pytestmark = pytest.mark.backends("dict")


@pytest.fixture
def beta_process(pymap: PymapProcess) -> Iterator[PymapProcess]:
    with PymapProcess(backend=NEXT_BACKEND[pymap.backend]) as other:
        yield other


@pytest.fixture
def panel_of_two(
    pymap: PymapProcess, beta_process: PymapProcess, tmp_path: Path
) -> Iterator[PanelProcess]:
    servers_file = write_servers_file(tmp_path, pymap, beta_process)
    with PanelProcess(
        pymap.socket_path, extra_env={"PANEL_SERVERS_FILE": str(servers_file)}
    ) as process:
        yield process


def _sign_in_here(page: Page, name: str, password: str) -> None:
    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_two_servers_side_by_side_one_stopped_midway(
    new_page: NewPage,
    panel_of_two: PanelProcess,
    pymap_user: MakeUser,
    beta_process: PymapProcess,
) -> None:
    page = new_page()
    alpha_admin = pymap_user("servers-admin", roles=["admin"])
    beta_user = make_user(
        beta_process.server(),
        beta_process.admin_token,
        f"beta-{uuid.uuid4().hex[:10]}",
        secrets.token_urlsafe(12),
    )
    # An old one-server URL lands on the default (first) server's sign-in.
    page.goto(f"{panel_of_two.url}/users/")
    expect(page).to_have_url(re.compile(r"/s/pymap-admin/accounts/sign-in/"))
    expect(page).to_have_title("Sign in · pymap-admin · pymap admin")
    servers = page.get_by_role("navigation", name="Servers")
    expect(servers.get_by_role("link", name="Alpha (dict) (not signed in)")).to_be_visible()
    assert_accessible(page)
    _sign_in_here(page, beta_user.name, beta_user.password)
    expect(page).to_have_url(re.compile(r"/s/pymap-admin/users/$"))

    # Switch to the other server: a sign-in of its own.
    page.get_by_role("navigation", name="Servers").get_by_role(
        "link", name="Alpha (dict) (not signed in)"
    ).click()
    expect(page).to_have_title("Sign in · Alpha (dict) · pymap admin")
    _sign_in_here(page, alpha_admin.name, alpha_admin.password)
    expect(page).to_have_title("Dashboard · Alpha (dict) · pymap admin")
    servers = page.get_by_role("navigation", name="Servers")
    expect(servers.get_by_role("link", name="Alpha (dict) (signed in)")).to_have_attribute(
        "aria-current", "true"
    )
    assert_accessible(page)

    # Back to the first: still signed in there.
    servers.get_by_role("link", name="pymap-admin (signed in)").click()
    expect(page).to_have_title("Dashboard · pymap-admin · pymap admin")
    expect(page.get_by_role("banner")).to_contain_text(beta_user.name)

    page.get_by_role("link", name="All servers").click()
    expect(page).to_have_title("Servers · pymap admin")
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("^Alpha"))).to_contain_text("SERVING")
    expect(table.get_by_role("row", name=re.compile("^pymap-admin"))).to_contain_text("SERVING")
    assert_accessible(page)

    beta_process.stop()  # midway
    page.reload()
    expect(table.get_by_role("row", name=re.compile("^pymap-admin"))).to_contain_text("DOWN")
    expect(table.get_by_role("row", name=re.compile("^Alpha"))).to_contain_text("SERVING")
    screenshot(page, "servers-one-down")
    assert_accessible(page)
    # The other server is still usable.
    page.get_by_role("navigation", name="Servers").get_by_role(
        "link", name="Alpha (dict) (signed in)"
    ).click()
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Users", exact=True
    ).click()
    expect(page).to_have_title(re.compile("· Alpha \\(dict\\) · pymap admin$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
