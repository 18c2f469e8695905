"""A 200-row CSV through the browser, on every backend: the plan, applying it
with progress, the generated passwords downloaded once, and every user then
as planned (pymap-admin get-user on a sample, a Login and a GetUser with the
user's own token for every one)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from adminpanel.pymap import service
from adminpanel.pymap.errors import RefusalKey, Refused
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import assert_accessible, screenshot, sign_in_as_operator
from ..support.pymap_users import MakeUser
from ..support.stored import stored_user


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "password", "roles", "action"])
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.mark.long  # 200 users written and logged in: started first among the browser tests
def test_a_200_row_csv_is_planned_applied_and_stored_as_planned(
    page: Page, panel: PanelProcess, pymap: PymapProcess, pymap_user: MakeUser, tmp_path: Path
) -> None:
    sign_in_as_operator(page, panel, pymap_user)
    tag = uuid.uuid4().hex[:6]
    updated = [pymap_user(f"bb-upd-{tag}") for _ in range(30)]
    unchanged = [pymap_user(f"bb-same-{tag}") for _ in range(10)]
    deleted = [pymap_user(f"bb-del-{tag}") for _ in range(10)]
    given = {f"bb-new-{tag}-{i:03d}": f"Given-pass-{tag}-{i:03d}" for i in range(100)}
    generated = [f"bb-gen-{tag}-{i:03d}" for i in range(50)]
    rows = [[n, p, "staff" if i % 2 else "", "create"] for i, (n, p) in enumerate(given.items())]
    rows += [[name, "", "", ""] for name in generated]
    rows += [[u.name, f"New-{u.password}", "editor", "update"] for u in updated]
    rows += [[u.name, "", "", ""] for u in unchanged]
    rows += [[u.name, "", "", "delete"] for u in deleted]
    assert len(rows) == 200
    upload = tmp_path / "users.csv"
    upload.write_bytes(_csv(rows))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Many users").click()
    expect(page).to_have_title("Many users at once · test pymap · pymap admin")
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Upload and make the plan").click()
    # The page answers at once; the worker reads the 200 users (~8 s on
    # maildir, where each read waits pymap's 300 ms, more on a busy machine)
    # while the page follows it, and shows the plan when it is made.
    expect(page).to_have_title(re.compile(r"^Bulk plan #\d+ · test pymap · pymap admin$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("users.csv")
    assert_accessible(page)
    totals = page.locator("#plan-totals")
    expect(totals.locator('[data-kind="create"]')).to_have_text("150", timeout=300_000)
    for kind, count in (("create", 150), ("update", 30), ("unchanged", 10), ("delete", 10)):
        expect(totals.locator(f'[data-kind="{kind}"]')).to_have_text(str(count))
    expect(totals.locator('[data-kind="refused"]')).to_have_text("0")
    expect(page.get_by_role("navigation", name="Pages of rows")).to_contain_text("Page 1 of 2")
    page.get_by_role("link", name="update", exact=True).click()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(31)
    expect(page.get_by_role("table")).to_contain_text("roles: +editor; password: from the file")
    assert_accessible(page)
    screenshot(page, f"bulk-plan-{pymap.backend}", readme=pymap.backend == "dict")
    assert stored_user(pymap, next(iter(given))) is None  # the plan wrote nothing

    page.get_by_role("button", name="Apply the plan").click()
    progress = page.get_by_role("region", name="Progress")
    # The page follows the worker by itself and reloads when it has finished.
    expect(progress.locator('[data-field="state_label"]')).to_have_text("Finished", timeout=600_000)
    expect(progress.locator('[data-field="applied"]')).to_have_text("190")
    expect(page.locator("#bulk-bar")).to_have_attribute("value", "190")
    assert_accessible(page)
    screenshot(page, f"bulk-applied-{pymap.backend}")

    with page.expect_download() as download:
        progress.get_by_role("link", name="Download them").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    passwords = {row["name"]: row["password"] for row in csv.DictReader(io.StringIO(text))}
    assert sorted(passwords) == generated
    page.reload()
    expect(progress.get_by_role("link", name="Download them")).to_have_count(0)  # once

    server = pymap.server()
    expected = {
        **{n: (p, {"staff"} if i % 2 else set()) for i, (n, p) in enumerate(given.items())},
        **{name: (passwords[name], set()) for name in generated},
        **{u.name: (f"New-{u.password}", {"editor"}) for u in updated},
        **{u.name: (u.password, set()) for u in unchanged},
    }
    for name, (password, roles) in expected.items():
        own = service.login(server, name, password=password)  # the password planned
        assert set(service.get_user(server, own, name).roles) == roles, name
    for name in [*list(given)[:3], generated[0], updated[0].name, unchanged[0].name]:
        kept = stored_user(pymap, name)
        assert kept is not None, name
        assert set(kept.roles) == expected[name][1], name
    for user in deleted:
        with pytest.raises(Refused) as refused:
            service.get_user(server, pymap.admin_token, user.name)
        assert refused.value.is_(RefusalKey.USER_NOT_FOUND), user.name
    assert stored_user(pymap, deleted[0].name) is None
