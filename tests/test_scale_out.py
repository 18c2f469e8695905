"""Several panel instances behind one address share one PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .conftest import MakeUser

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SESSION_COOKIE = "pymap_panel_session"


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
    with (
        PanelProcess(pymap.socket_path, database_url=postgres_url, secret_key=secret) as first,
        PanelProcess(
            pymap.socket_path, database_url=postgres_url, secret_key=secret, migrate=False
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
