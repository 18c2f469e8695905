"""Browser fixtures: Debian's Chromium driven by Playwright, against the panel
running under uvicorn with production settings and the session's real pymap.

Screenshots of every journey go to ``test-artifacts/screenshots/`` (whole
pages); the README's pictures are refreshed from the same tests into
``docs/screenshots/`` (what the window shows, which keeps them small) when
``UPDATE_README_SCREENSHOTS=1`` is set.

The panel runs with a task worker (``manage.py db_worker``), as in
production, so that imports started in a journey run to the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from devtools.local_processes import LOCALHOST
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from ..support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, NewPage, Scheme


@pytest.fixture(scope="session")
def panel(pymap: PymapProcess) -> Iterator[PanelProcess]:
    """The panel, pointed at the session server's admin socket and at its
    IMAP and ManageSieve services (plaintext on loopback)."""
    mail_services = {
        "PYMAP_IMAP_HOST": LOCALHOST,
        "PYMAP_IMAP_PORT": str(pymap.imap_port),
        "PYMAP_IMAP_SECURITY": "none",
        "PYMAP_MANAGESIEVE_HOST": LOCALHOST,
        "PYMAP_MANAGESIEVE_PORT": str(pymap.sieve_port),
        "PYMAP_MANAGESIEVE_SECURITY": "none",
    }
    with PanelProcess(pymap.socket_path, task_worker=True, extra_env=mail_services) as process:
        yield process


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Factory for pages in fresh browser contexts (own cookies), closed after the test."""
    contexts: list[BrowserContext] = []

    def create(
        *,
        viewport: dict[str, int] = DESKTOP,
        color_scheme: Scheme = "light",
        javascript: bool = True,
        timezone_id: str = "UTC",
    ) -> Page:
        context = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            color_scheme=color_scheme,
            java_script_enabled=javascript,
            timezone_id=timezone_id,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield create
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


@pytest.fixture
def dark_phone_page(new_page: NewPage) -> Page:
    return new_page(viewport=PHONE, color_scheme="dark")
