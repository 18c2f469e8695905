"""Run the panel under its production server (uvicorn) in a child process.

For browser tests, benchmarks and the several-instances test: the panel runs
exactly as in production (DEBUG off, ASGI, WhiteNoise serving collected static
files), except that it speaks plain HTTP on loopback, so the HTTPS-only
settings (Secure cookies, HTTPS redirect, HSTS) are switched off.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devtools.local_processes import (
    LOCALHOST,
    PORT_ATTEMPTS,
    free_port,
    lost_port_race,
    stop_processes,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

# The collected static files and a migrated SQLite database, made once per
# process and shared (static, read only) or copied (database) by every panel
# it starts: each manage.py run costs about 1.5 s of CPU, and a test session
# starts dozens of panels.
_template_lock = threading.Lock()
_template_dir: Path | None = None


def _template() -> Path:
    """The directory with ``static/`` and ``panel.sqlite3``, made on first use."""
    global _template_dir
    with _template_lock:
        if _template_dir is None:
            made = Path(tempfile.mkdtemp(prefix="panel-template-"))
            env = _production_env(
                secrets.token_urlsafe(50),
                static_root=made / "static",
                database_url=f"sqlite:///{made / 'panel.sqlite3'}",
            )
            try:
                _manage(env, "migrate", "--noinput")
                _manage(env, "collectstatic", "--noinput")
            except BaseException:
                shutil.rmtree(made, ignore_errors=True)
                raise
            _template_dir = made
            atexit.register(shutil.rmtree, made, ignore_errors=True)
        return _template_dir


def _production_env(secret_key: str, *, static_root: Path, database_url: str) -> dict[str, str]:
    """This process's environment without its Django and panel settings, with
    production ones, the HTTPS-only ones off (plain HTTP on loopback)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PANEL_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "adminpanel.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": f"{LOCALHOST},localhost",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "DJANGO_STATIC_ROOT": str(static_root),
            "DATABASE_URL": database_url,
        }
    )
    return env


def _manage(env: Mapping[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env=env,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )


class PanelStartError(RuntimeError):
    """The panel did not come up; the message ends with its log."""


class PanelPortTakenError(PanelStartError):
    """uvicorn could not bind the port picked for it: another process took it first."""


class PanelProcess:
    """One panel instance: ``with PanelProcess(pymap_socket) as panel: panel.url``.

    ``database_url`` defaults to a SQLite file in the instance's own
    temporary directory (a copy of one migrated once per process); pass a
    shared PostgreSQL URL to run several instances on one database.
    ``migrate`` runs migrations first (only one of several instances needs
    to). ``task_worker`` also runs a task worker
    (``manage.py db_worker``, as production does beside the web process) for
    mailbox imports. ``extra_env`` overrides settings.
    """

    def __init__(
        self,
        pymap_socket: Path | str,
        *,
        database_url: str | None = None,
        secret_key: str | None = None,
        migrate: bool = True,
        task_worker: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.pymap_socket = str(pymap_socket)
        self.database_url = database_url
        self.secret_key = secret_key or secrets.token_urlsafe(50)
        self.migrate = migrate
        self.task_worker = task_worker
        self.extra_env = dict(extra_env or {})
        self.port: int | None = None
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._worker: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.final_log = ""

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the panel has not been started")
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the panel has not been started")
        return self._proc.pid

    @property
    def worker_pid(self) -> int:
        if self._worker is None:
            raise RuntimeError("no task worker is running")
        return self._worker.pid

    @property
    def log_path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("the panel has not been started")
        return self._tmp / "panel.log"

    def env(self) -> dict[str, str]:
        """The environment the panel's processes get (also for manage.py calls)."""
        assert self._tmp is not None
        env = _production_env(
            self.secret_key,
            static_root=_template() / "static",
            database_url=self.database_url or f"sqlite:///{self._tmp / 'panel.sqlite3'}",
        )
        env.update(
            {
                # Shared by the web process and the task worker.
                "PANEL_MAIL_SPOOL_DIR": str(self._tmp / "spool"),
                "PYMAP_ADMIN_PATH": self.pymap_socket,
                "PYMAP_ADMIN_NAME": "test pymap",
            }
        )
        env.update(self.extra_env)
        return env

    def manage(self, *args: str) -> None:
        _manage(self.env(), *args)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="panel-"))
        try:
            if self.migrate and self.database_url is None:
                shutil.copyfile(_template() / "panel.sqlite3", self._tmp / "panel.sqlite3")
            elif self.migrate:
                self.manage("migrate", "--noinput")
            self._log = self.log_path.open("wb")
            if self.task_worker:
                self._worker = subprocess.Popen(  # noqa: S603
                    [sys.executable, str(REPO_ROOT / "manage.py"), "db_worker",
                     "--no-reload", "--interval", "0.2", "--no-startup-delay"],
                    cwd=REPO_ROOT,
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            self._serve_on_free_port()
        except BaseException:
            self.stop()
            raise

    def _serve_on_free_port(self) -> None:
        """Start uvicorn on a port picked free, and on a new one if another
        process bound it before uvicorn could."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = free_port()
            log_start = self.log_path.stat().st_size
            command = [
                sys.executable, "-m", "uvicorn", "adminpanel.asgi:application",
                "--host", LOCALHOST, "--port", str(self.port),
                "--workers", "1", "--no-access-log",
            ]  # fmt: skip
            self._proc = subprocess.Popen(  # noqa: S603
                command,
                cwd=REPO_ROOT,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            try:
                self._wait_ready(log_start)
            except PanelPortTakenError:
                if attempt == PORT_ATTEMPTS:
                    raise
            else:
                return

    def _wait_ready(self, log_start: int) -> None:
        """Wait until the sign-in page answers; ``log_start`` is where this
        uvicorn's lines begin in the log (an earlier try's are before it)."""
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                with self.log_path.open("rb") as log:
                    log.seek(log_start)
                    this_try = log.read().decode("utf-8", "replace")
                error = PanelPortTakenError if lost_port_race(this_try) else PanelStartError
                raise error(f"the panel exited during start-up:\n{self.log_tail()}")
            if self._worker is not None and self._worker.poll() is not None:
                raise PanelStartError(f"the task worker exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/sign-in/", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise PanelStartError(f"the panel was not ready in {READY_TIMEOUT:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server and the task worker, and clean up.

        SIGTERM to both: uvicorn shuts down gracefully, the worker finishes
        the import it runs; SIGKILL if either takes longer than
        ``STOP_TIMEOUT``. The last lines of the log they share stay readable
        in :attr:`final_log`.
        """
        processes = [p for p in (self._proc, self._worker) if p is not None]
        self._proc = self._worker = None
        stop_processes(*processes, timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None
            self.final_log = self.log_tail(200)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
