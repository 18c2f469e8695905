"""Benchmark: the Users page's list of every user at 100,000 users (docs/user-pages.md).

Run by hand: ``.venv/bin/python -m devtools.bench.user_list [--users 100000]``.

redis: a real pymap on the machine's Redis (its own key prefix, deleted
afterwards), whose user store gets ``--users`` users written straight into
Redis in pymap's own format (the JSON of a user pymap created, with a new
token key and entity tag each; pymap is then asked for one of them, so the
format is pymap's), beside ``--other-keys`` keys under its mail prefix, as
pymap's mail data shares the database in a default set-up. Then, timed:

(a) the first page, the tenth page (by its SCAN cursor) and a prefix search,
    read by adminpanel.directory as the Users page reads them;
(b) a search for one rare name, which looks through the whole keyspace up to
    the budget of one page (a page of its own per budget, never more);
(c) for comparison, reading every user at once (SCAN to the end + MGET);
(d) the Users page itself, through the panel under uvicorn with production
    settings, signed in as an admin-role user, first page and a search;
(e) the same in Chromium (when Playwright and Debian's Chromium are there):
    the first page until its load event, then Next page ten times.

maildir: a real pymap on the maildir backend whose pymap-etc-passwd and
pymap-etc-group get ``--users`` users (pymap is asked for one of them), then
the first page parsed from the files every time and from the snapshot kept
while the files do not change.

Each figure is the median of ``--runs`` runs (p95 beside it). Exits 1 if a
first page takes 200 ms or more.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from adminpanel.directory import listing, maildir_files, redis_store
from adminpanel.directory.listing import Search
from adminpanel.pymap import service
from adminpanel.pymap.store_access import UserStoreAccess, user_store_access
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

TARGET_MS = 200.0
CHUNK = 10_000


def timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and p95 milliseconds of ``runs`` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def line(label: str, figures: tuple[float, float], extra: str = "") -> None:
    print(f"  {label:<58} {figures[0]:8.1f} ms  (p95 {figures[1]:7.1f}){extra}")


def fill_redis(pymap: PymapProcess, users: int, other_keys: int) -> str:
    """Write the users in pymap's format; the name of one of them."""
    server = pymap.server()
    service.set_user(
        server, pymap.admin_token, "bench-template", password="x" * 12, params={"quota": "1G"}
    )
    client = redis.Redis.from_url(pymap.redis_url)
    users_prefix, mail_prefix = f"{pymap.redis_prefix}/users/", f"{pymap.redis_prefix}/mail/"
    template = json.loads(client.get(users_prefix + "bench-template") or b"{}")
    for start in range(0, users, CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for index in range(start, min(start + CHUNK, users)):
                record = dict(template, key=secrets.token_hex(32), etag=str(index + 1))
                if index % 100 == 0:
                    record["role"] = "admin"
                pipe.set(f"{users_prefix}bench-{index:06d}", json.dumps(record))
            pipe.execute()
    for start in range(0, other_keys, CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for index in range(start, min(start + CHUNK, other_keys)):
                pipe.set(f"{mail_prefix}noise/{index}", b"x")
            pipe.execute()
    client.close()
    sample = f"bench-{users // 2:06d}"
    read = service.get_user(server, pymap.admin_token, sample)
    assert read.params.get("quota") == "1G", read
    return sample


def bench_redis(users: int, other_keys: int, runs: int) -> float:
    print(f"redis: {users:,} users and {other_keys:,} other keys in the database")
    with PymapProcess(backend="redis") as pymap:
        start = time.perf_counter()
        rare = fill_redis(pymap, users, other_keys)
        print(f"  written in {time.perf_counter() - start:.1f} s; pymap reads {rare} back")
        access = user_store_access(
            redis_url=pymap.redis_url, redis_users_prefix=f"{pymap.redis_prefix}/users"
        )

        def page(search: Search | None = None, after: int = 0) -> listing.Page:
            return listing.read_page(access, search or Search(), after=after, timeout=10)

        first_page = page()
        first = timed(page, runs)
        line("(a) first page", first, f"  {len(first_page.users)} users")
        after = 0
        for _ in range(9):
            after = page(after=after).next_after or 0
        line("(a) tenth page (its cursor)", timed(lambda: page(after=after), runs))
        prefix = Search("bench-0999", starts_with=True)
        found = page(prefix)
        line(
            "(a) search, name starts with bench-0999",
            timed(lambda: page(prefix), runs),
            f"  {len(found.users)} users, ~{found.examined:,} keys looked at",
        )
        one = Search(rare)
        result = page(one)
        line(
            f"(b) search for one name ({rare}), first page",
            timed(lambda: page(one), runs),
            f"  found {len(result.users)}, ~{result.examined:,} keys, "
            f"more: {bool(result.next_after)}",
        )
        line("(c) every user at once (SCAN to the end + MGET)", timed(lambda: read_all(access), 3))
        panel_first = bench_panel(pymap, access, runs)
        redis_store.close_pools()
    return max(first[0], panel_first)


def read_all(access: UserStoreAccess) -> int:
    assert access.redis_url is not None
    client = redis.Redis.from_url(access.redis_url)
    keys = list(client.scan_iter(match=access.redis_keys_start + "*", count=5000))
    for start in range(0, len(keys), CHUNK):
        client.mget(keys[start : start + CHUNK])
    client.close()
    return len(keys)


def bench_panel(pymap: PymapProcess, access: UserStoreAccess, runs: int) -> float:
    name, password = f"bench-operator-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    service.set_user(pymap.server(), pymap.admin_token, name, password=password, roles=["admin"])
    env = {
        "PANEL_REDIS_URL": access.redis_url or "",
        "PANEL_REDIS_USERS_PREFIX": access.redis_users_prefix,
        "PYMAP_ADMIN_BACKEND": "redis",
    }
    with PanelProcess(pymap.socket_path, extra_env=env) as panel:
        client = PanelClient(panel.url)
        assert client.sign_in(name, password).status == 302

        def get(path: str) -> None:
            response = client.get(path)
            assert response.status == 200, response.status
            assert "user-list" in response.text

        get("/users/")
        first = timed(lambda: get("/users/"), runs)
        line("(d) the Users page, first page, through the panel", first)
        line(
            "(d) the Users page, search bench-0999",
            timed(lambda: get("/users/?q=bench-0999&match=starts"), runs),
        )
        in_chromium(panel.url, name, password, runs)
    return first[0]


def in_chromium(base_url: str, name: str, password: str, runs: int) -> None:
    """(e) The same pages in Chromium, when the dev tools and Debian's Chromium are there."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return
    if not chromium.exists():
        return
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(f"{base_url}/accounts/sign-in/")
        page.get_by_label("User name", exact=True).fill(name)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        line(
            "(e) the Users page in Chromium, first page (until load)",
            timed(lambda: page.goto(f"{base_url}/users/"), runs),
        )

        def next_page() -> None:
            page.get_by_role("link", name="Next page").click()
            page.wait_for_load_state()

        line("(e) in Chromium, Next page, ten times in a row", timed(next_page, 10))
        shots = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "bench-user-list-page-11.png"), full_page=True)
        browser.close()


def fill_maildir(base: Path, users: int) -> None:
    base.mkdir(exist_ok=True)
    with (base / "pymap-etc-passwd").open("a") as passwd:
        for index in range(users):
            passwd.write(f"bench-{index:06d}:x::::bench-{index:06d}:\r\n")
    admins = ",".join(f"bench-{index:06d}" for index in range(0, users, 100))
    with (base / "pymap-etc-group").open("a") as group:
        group.write(f"admin:x::{admins}\r\n")


def bench_maildir(users: int, runs: int) -> float:
    print(f"maildir: {users:,} users in pymap-etc-passwd")
    with PymapProcess(backend="maildir") as pymap:
        fill_maildir(pymap.maildir_dir, users)
        server = pymap.server(timeout=300)
        sample = f"bench-{users - 100:06d}"
        start = time.perf_counter()
        own = service.login(server, sample, token=pymap.admin_token)
        assert service.get_user(server, own, sample).roles == ("admin",)
        print(
            f"  pymap reads {sample} back, with its admin role from pymap-etc-group "
            f"(its Login and GetUser took {time.perf_counter() - start:.1f} s)"
        )
        access = user_store_access(maildir_path=str(pymap.maildir_dir))

        def page(search: Search | None = None) -> listing.Page:
            return listing.read_page(access, search or Search(), after=0)

        def uncached() -> None:
            maildir_files.forget()
            page()

        cold = timed(uncached, max(3, runs // 4))
        line("first page, files parsed again", cold)
        page()
        warm = timed(page, runs)
        line("first page, snapshot kept (files unchanged)", warm)
        line("search 'bench-0999', snapshot kept", timed(lambda: page(Search("bench-0999")), runs))
    return warm[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--other-keys", type=int, default=100_000, help="redis: mail keys beside")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # The service's reads fingerprint hashes with the settings' key.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    worst = max(
        bench_redis(args.users, args.other_keys, args.runs), bench_maildir(args.users, args.runs)
    )
    verdict = "ok" if worst < TARGET_MS else "TOO SLOW"
    print(f"first page: {worst:.1f} ms at worst, target under {TARGET_MS:.0f} ms: {verdict}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
