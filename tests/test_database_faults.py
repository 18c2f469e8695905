"""The panel's own database failing: a 503 page, never a bare error, under
the production server."""

from __future__ import annotations

import uuid

import pytest

from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

pytestmark = pytest.mark.postgres

SESSION_COOKIE = "pymap_panel_session"


def test_an_unreachable_database_gives_a_503_page(pymap: PymapProcess) -> None:
    missing = f"postgres://postgres@127.0.0.1:5432/panel_missing_{uuid.uuid4().hex[:12]}"
    with PanelProcess(
        pymap.socket_path,
        database_url=missing,
        migrate=False,
        extra_env={"DATABASE_POOL_TIMEOUT": "1"},
    ) as panel:
        # A page that needs no database still works.
        assert PanelClient(panel.url).get("/accounts/sign-in/").status == 200
        # Signing in records the attempt in the database.
        signing_in = PanelClient(panel.url).sign_in("someone", "some password")
        # Any session cookie makes the session load.
        cookie = {"Cookie": f"{SESSION_COOKIE}={uuid.uuid4().hex}"}
        dashboard = PanelClient(panel.url).get("/", headers=cookie)
        # The probes: alive, but not ready, and not saying where the database is.
        live = PanelClient(panel.url).get("/health/live")
        ready = PanelClient(panel.url).get("/health/ready")
    assert live.status == 200
    assert ready.status == 503
    assert '"database": "failing"' in ready.text
    assert '"status": "serving"' in ready.text  # pymap still answers
    assert "panel_missing" not in ready.text
    assert "5432" not in ready.text
    for answer in (signing_in, dashboard):
        text = answer.text
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "10"
        assert "Panel database unavailable" in text
        assert "check whether the change was made" in text
        assert "Traceback" not in text
        assert "OperationalError" not in text
        assert '<link rel="stylesheet"' in text  # the panel's page, not a bare error
    assert "OperationalError" in panel.final_log  # logged on the server side
