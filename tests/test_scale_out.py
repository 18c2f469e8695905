"""Several panel instances behind one address share one PostgreSQL database."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from adminpanel.pymap import service
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .support.bulk import csv_bytes
from .support.progress import finished
from .support.pymap_users import MakeUser
from .support.stored import stored_user

pytestmark = pytest.mark.postgres

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SESSION_COOKIE = "pymap_panel_session"
FAILURES_ALLOWED = 3
#: Each instance's database pool, small so that a burst has to queue for it.
POOL_SIZE = 3


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    name = f"panel_scaleout_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def two_panels(pymap: PymapProcess, postgres_url: str) -> Iterator[tuple[PanelProcess, ...]]:
    secret = uuid.uuid4().hex * 2  # both instances must sign with the same key
    # A low limit per user name, so the shared counter shows after a few tries.
    limits = {
        "PANEL_SIGN_IN_LIMIT_PER_USER": str(FAILURES_ALLOWED),
        "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
    }
    with (
        PanelProcess(
            pymap.socket_path, database_url=postgres_url, secret_key=secret, extra_env=limits
        ) as first,
        PanelProcess(
            pymap.socket_path,
            database_url=postgres_url,
            secret_key=secret,
            migrate=False,
            extra_env=limits,
        ) as second,
    ):
        yield first, second


def test_a_session_started_on_one_instance_continues_on_the_other(
    two_panels: tuple[PanelProcess, ...], pymap_user: MakeUser
) -> None:
    first, second = two_panels
    user = pymap_user("scale")
    on_first = PanelClient(first.url)
    assert on_first.sign_in(user.name, user.password).status == 302
    cookie = on_first.cookie(SESSION_COOKIE)
    assert cookie

    on_second = PanelClient(second.url)
    on_second.cookies.set_cookie(next(c for c in on_first.cookies if c.name == SESSION_COOKIE))
    dashboard = on_second.get("/")
    assert dashboard.status == 200
    assert user.name in dashboard.text

    # Signing out on the second ends the session for the first too.
    assert on_second.post("/accounts/sign-out/", {}).status == 302
    assert on_first.get("/").status == 302


def test_failed_sign_ins_are_counted_across_instances(
    two_panels: tuple[PanelProcess, ...], pymap_user: MakeUser
) -> None:
    first, second = two_panels
    user = pymap_user("throttled")
    for attempt in range(FAILURES_ALLOWED):
        panel = (first, second)[attempt % 2]
        refused = PanelClient(panel.url).sign_in(user.name, f"wrong-{attempt}")
        assert refused.status == 200
        assert "was not accepted" in refused.text
    # The limit is reached whichever instance is asked next, even with the
    # right password: the counter lives in the shared database.
    for panel in (first, second):
        throttled = PanelClient(panel.url).sign_in(user.name, user.password)
        assert throttled.status == 429
        assert int(throttled.headers["Retry-After"]) > 0


def test_a_burst_of_requests_stays_within_each_instances_database_pool(
    two_panels: tuple[PanelProcess, ...], postgres_url: str, pymap_user: MakeUser
) -> None:
    user = pymap_user("burst")
    clients = [PanelClient(panel.url) for panel in two_panels]
    for client in clients:
        assert client.sign_in(user.name, user.password).status == 302
    database = postgres_url.rsplit("/", 1)[1]
    peak, done = 0, threading.Event()

    def watch_connections() -> None:
        nonlocal peak
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            while not done.is_set():
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
                ).fetchone()
                peak = max(peak, row[0] if row else 0)
                time.sleep(0.02)

    def page(number: int) -> int:
        return clients[number % 2].get(f"/users/user/?name={user.name}").status

    watcher = threading.Thread(target=watch_connections)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=32) as burst:
            statuses = list(burst.map(page, range(200)))
    finally:
        done.set()
        watcher.join()
    assert statuses == [200] * 200
    # Without a pool each request thread kept a connection of its own.
    assert 1 <= peak <= 2 * POOL_SIZE


@pytest.mark.backends("redis")
def test_a_bulk_plan_is_read_stored_and_applied_on_postgresql(
    pymap: PymapProcess, postgres_url: str, pymap_user: MakeUser
) -> None:
    """The plan's worker stores every batch of rows in one statement
    (lib/many_rows.py): its JSON, binary and choice values must reach
    PostgreSQL as the ORM would send them."""
    operator = pymap_user("bulk-op", roles=["admin"])
    existing = pymap_user("bulk-kept")
    server = pymap.server()
    service.set_user(
        server, pymap.admin_token, existing.name, password=existing.password,
        params={"quota": "1", "note": "x"},
        previous_entity_tag=service.get_user(server, pymap.admin_token, existing.name).entity_tag,
    )  # fmt: skip
    new_name = f"bulk-new-{uuid.uuid4().hex[:8]}"
    data = csv_bytes(
        [
            (existing.name, "Pw-postgres-kept-1", "", "quota=2", "update"),
            (new_name, "", "", "team=pg", "create"),
            ("has space", "", "", "", "create"),
        ]
    )
    with PanelProcess(pymap.socket_path, database_url=postgres_url, task_worker=True) as panel:
        client = PanelClient(panel.url)
        assert client.sign_in(operator.name, operator.password).status == 302
        uploaded = client.post_files("/bulk/", {}, {"upload": ("users.csv", data)})
        assert uploaded.status == 302, uploaded.text[:3000]
        plan_page = uploaded.headers["Location"]
        planned = finished(client, plan_page + "progress.json", until="planned")
        assert planned["state"] == "planned", planned
        page = client.get(plan_page).text
        assert "param quota: changed" in page
        assert "param note: removed" in page
        assert "password: generated" in page
        assert client.post(plan_page + "apply/", {}).status == 302
        counts = finished(client, plan_page + "progress.json")["counts"]
    assert isinstance(counts, dict)
    assert counts["applied"] == 2, counts
    kept = stored_user(pymap, existing.name)
    assert kept is not None
    assert kept.params == {"quota": "2"}
    made = stored_user(pymap, new_name)
    assert made is not None
    assert made.params == {"team": "pg"}
    assert made.has_password
