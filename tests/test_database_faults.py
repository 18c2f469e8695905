"""The panel's own database failing: a 503 page, never a bare error, under
the production server."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

SESSION_COOKIE = "pymap_panel_session"


def _get_with_cookie(url: str) -> tuple[int, str | None, str]:
    """GET with a session cookie (so the session is loaded): status, Retry-After, page."""
    request = urllib.request.Request(  # noqa: S310 (loopback URL built here)
        url, headers={"Cookie": f"{SESSION_COOKIE}={uuid.uuid4().hex}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            return reply.status, reply.headers.get("Retry-After"), reply.read().decode()
    except urllib.error.HTTPError as reply:
        with reply:
            return reply.code, reply.headers.get("Retry-After"), reply.read().decode()


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
        # Signing in records the attempt; a session cookie makes the session load.
        signing_in = PanelClient(panel.url).sign_in("someone", "some password")
        status, retry_after, page = _get_with_cookie(panel.url + "/")
    for answer_status, text in ((signing_in.status, signing_in.text), (status, page)):
        assert answer_status == 503
        assert "Panel database unavailable" in text
        assert "check whether the change was made" in text
        assert "Traceback" not in text
        assert "OperationalError" not in text
        assert '<link rel="stylesheet"' in text  # the panel's page, not a bare error
    assert signing_in.headers["Retry-After"] == "10"
    assert retry_after == "10"
    assert "OperationalError" in panel.final_log  # logged on the server side
