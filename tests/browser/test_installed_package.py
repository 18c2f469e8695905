"""The panel as an operator installs it: a wheel in a fresh virtual environment.

The wheel is built from an sdist of the checkout, installed with uv into a
virtual environment in a temporary directory, and from then on only that
environment's ``pymap-adminpanel`` runs the panel (cwd outside the checkout,
no PYTHONPATH): migrate, serve (two uvicorn workers, JSON logs, metrics in
multiprocess mode) and worker, against a real pymap on the redis backend.
One journey checks what issue 23's "done when" asks: sign-in through
Chromium, CSS served from the installed package, an mbox import to its end
(read back over IMAP), readiness through a pymap stop and restart, metrics
behind their token, and logs that parse as JSON and hold no secret.
"""

from __future__ import annotations

import imaplib
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from devtools.local_processes import LOCALHOST, free_port, stop_processes
from devtools.pymap_process import PymapProcess

from ..support.browser import NewPage, screenshot, sign_in
from ..support.mail import mbox_bytes
from ..support.mail import message as make_message
from ..support.pymap_users import make_user, unique_name

pytestmark = [pytest.mark.package, pytest.mark.long, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
MESSAGES = 12
METRICS_TOKEN = secrets.token_urlsafe(24)
#: How soon readiness must notice pymap is gone (its probe waits 1 s a server).
NOTICE_SECONDS = 5.0


def _version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert match is not None
    return match[1]


class Installed:
    """The venv with the wheel, and the environment its commands run in."""

    def __init__(self, root: Path, pymap: PymapProcess) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        self.port = free_port()
        self.url = f"http://{LOCALHOST}:{self.port}"
        key_file = root / "secret-key"
        key_file.write_text(secrets.token_urlsafe(50))
        token_file = root / "metrics-token"
        token_file.write_text(METRICS_TOKEN)
        (root / "prometheus").mkdir()
        self.env = {
            # Only what a unit file would set: no PYTHONPATH, no checkout.
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(root),
            "LANG": "C.UTF-8",
            "DJANGO_SECRET_KEY_FILE": str(key_file),
            "DJANGO_ALLOWED_HOSTS": f"{LOCALHOST},localhost",
            # Plain HTTP on loopback, as in the other browser tests.
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "PANEL_STATE_DIR": str(root / "state"),
            "PANEL_PORT": str(self.port),
            "PANEL_HOST": LOCALHOST,
            "PANEL_WORKERS": "2",
            "PANEL_LOG_FORMAT": "json",
            "PANEL_METRICS_TOKEN_FILE": str(token_file),
            "PANEL_READY_TIMEOUT": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(root / "prometheus"),
            "PYMAP_ADMIN_PATH": str(pymap.socket_path),
            "PYMAP_ADMIN_NAME": "redis pymap",
            "PYMAP_ADMIN_TIMEOUT": "5",
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.bin / "pymap-adminpanel"), *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        try:
            return subprocess.Popen(
                [str(self.bin / "pymap-adminpanel"), *args],
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

    def logs(self) -> dict[str, str]:
        return {name: (self.root / f"{name}.log").read_text() for name in ("serve", "worker")}


def _build_and_install(root: Path) -> None:
    """sdist, wheel from it, fresh venv, the wheel with the pinned dependencies."""
    dist = root / "dist"
    subprocess.run(
        [str(UV), "build", "-q", "-o", str(dist), str(REPO)], check=True, capture_output=True
    )
    wheel = next(dist.glob("pymap_adminpanel-*.whl"))
    subprocess.run(
        [str(UV), "venv", "-q", "--python", sys.executable, str(root / "venv")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(UV), "pip", "install", "-q", "--python", str(root / "venv" / "bin" / "python"),
            "-c", str(REPO / "constraints.txt"), str(wheel),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, b""  # not listening (yet)


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until ``condition()`` held; fails after ``seconds``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds:g} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def _ready_status(installed: Installed) -> int:
    return _get(f"{installed.url}/health/ready")[0]


def _sample(exposition: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in exposition.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix.strip()} is not in the metrics")


@pytest.fixture
def redis_pymap() -> Iterator[PymapProcess]:
    """pymap of its own on redis (the test stops and restarts it; not the
    session's ``pymap``)."""
    with PymapProcess(backend="redis", imap=True) as process:
        yield process


@pytest.fixture
def installed(tmp_path_factory: pytest.TempPathFactory, redis_pymap: PymapProcess) -> Installed:
    root = tmp_path_factory.mktemp("installed-panel")
    assert REPO not in root.parents
    _build_and_install(root)
    return Installed(root, redis_pymap)


def test_the_wheel_runs_the_panel_outside_the_checkout(
    installed: Installed, redis_pymap: PymapProcess, new_page: NewPage
) -> None:
    pymap = redis_pymap
    version = _version()
    assert installed.run("--version").strip() == f"pymap-adminpanel {version}"
    # Its own package, not the checkout, and the CSS it serves is the package's.
    found = installed.run("findstatic", "panel/panel.css", "--first", "-v0").strip()
    assert found.startswith(str(installed.root / "venv")), found
    installed.run("migrate", "--noinput", "-v0")

    server = pymap.server()
    operator = make_user(
        server, pymap.admin_token, unique_name("operator"), secrets.token_urlsafe(12), ["admin"]
    )
    owner = make_user(server, pymap.admin_token, unique_name("owner"), secrets.token_urlsafe(12))
    web = installed.start("serve", "serve")
    worker = installed.start("worker", "worker", "--no-reload", "--interval", "0.2")
    try:
        _wait_for(lambda: _get(f"{installed.url}/health/live")[0] == 200, 60, "serve answers")
        cookies = _journey(installed, pymap, new_page(), operator.name, operator.password, owner)
    finally:
        stop_processes(web, worker, timeout=15)
    secrets_seen = [
        operator.password,
        owner.password,
        pymap.admin_token,
        METRICS_TOKEN,
        (installed.root / "secret-key").read_text(),
        *cookies,
    ]
    for name, text in installed.logs().items():
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, f"{name} wrote no log"
        parsed = [_json_line(name, line) for line in lines]
        for secret in secrets_seen:
            assert secret not in text, f"a secret in the {name} log"
        assert not re.search(r"\$pbkdf2|MDA[A-Za-z0-9_-]{16}", text), f"a hash or token in {name}"
        if name == "serve":
            requests = [line for line in parsed if line["logger"] == "adminpanel.request"]
            sign_ins = [line for line in requests if line.get("path") == "/accounts/sign-in/"]
            assert sign_ins
            assert {"time", "level", "request_id", "view", "status", "duration"} <= set(
                requests[-1]
            )
            assert any(line.get("operator") == operator.name for line in requests)


def _json_line(name: str, line: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{name}: not a JSON line: {line!r}") from exc
    assert {"time", "level", "logger", "message"} <= set(data), line
    return data


def _journey(
    installed: Installed,
    pymap: PymapProcess,
    page: Page,
    name: str,
    password: str,
    owner: Any,
) -> list[str]:
    """The journey; returns the browser's cookies (session, CSRF), which no
    log line may hold."""
    url = installed.url
    status, body = _get(f"{url}/health/ready")
    assert status == 200, body
    assert json.loads(body)["servers"] == [{"index": 0, "name": "redis pymap", "status": "serving"}]

    sign_in(page, url, name, password)
    expect(page).to_have_title(re.compile("^Dashboard"))
    expect(page.get_by_role("main")).to_contain_text(f"This panel's version{_version()}")
    # The stylesheet arrived and applies (a page without it has no CSS rules).
    rules = page.evaluate("() => [...document.styleSheets].map((s) => s.cssRules.length)")
    assert rules, "no stylesheet"
    assert all(count > 20 for count in rules), rules
    href = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert href is not None
    assert href.startswith("/static/panel/panel.")
    status, css = _get(url + href)
    assert status == 200
    installed_css = next(installed.root.glob("venv/lib/python*/site-packages/adminpanel/static"))
    assert css.splitlines()[:5] == (installed_css / "panel/panel.css").read_bytes().splitlines()[:5]
    screenshot(page, "installed-dashboard")

    archive = installed.root / "archive.mbox"
    archive.write_bytes(mbox_bytes(make_message(i, tag="installed") for i in range(MESSAGES)))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_label("User", exact=True).fill(owner.name)
    page.get_by_label("mbox archive or .eml files").set_input_files(archive)
    page.get_by_role("button", name="Upload and import").click()
    progress = page.get_by_role("region", name="Progress")
    expect(progress).to_contain_text(
        f"Finished {MESSAGES} of {MESSAGES} messages sent, {MESSAGES} delivered.", timeout=30_000
    )
    screenshot(page, "installed-import-finished")
    assert pymap.imap_port is not None
    with imaplib.IMAP4(LOCALHOST, pymap.imap_port) as imap:
        imap.login(owner.name, owner.password)
        _, (count,) = imap.select("INBOX", readonly=True)
        assert count == str(MESSAGES).encode()
    cookies = [cookie["value"] for cookie in page.context.cookies()]
    assert len(cookies) >= 2

    status, refused = _get(f"{url}/metrics")
    assert status == 401
    assert b"panel_" not in refused
    status, _ = _get(f"{url}/metrics", Authorization="Bearer wrong")
    assert status == 401
    status, exposition = _get(f"{url}/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 200
    text = exposition.decode()
    assert _sample(text, "panel_sign_ins_total", result="succeeded") == 1
    assert _sample(text, "panel_pymap_rpcs_total", server="redis pymap", method="Login", code="OK")
    assert _sample(
        text, "panel_pymap_rpcs_total", server="redis pymap", method="HealthCheck", code="OK"
    )
    # Counted in the task worker, added up by the web process (multiprocess mode).
    assert _sample(text, "panel_messages_appended_total", server="redis pymap") == MESSAGES
    assert _sample(text, "panel_imports", state="finished") == 1

    pymap.halt()
    noticed = _wait_for(lambda: _ready_status(installed) == 503, NOTICE_SECONDS, "503")
    status, body = _get(f"{url}/health/ready")
    assert json.loads(body)["servers"][0]["status"] == "unreachable"
    assert str(pymap.socket_path) not in body.decode()
    pymap.restart()
    back = _wait_for(lambda: _ready_status(installed) == 200, 15, "ready again")
    print(f"readiness: 503 {noticed:.1f} s after pymap stopped, 200 {back:.1f} s after restart")
    return cookies
