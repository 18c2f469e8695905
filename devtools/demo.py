"""README command one: a local demo pymap and the panel on http://127.0.0.1:8000.

Starts pymap (its own virtual environment, dict backend with demo data, on
loopback only), creates an operator with the admin role through pymap's admin
token, prepares the panel's SQLite database and static files, prints the
operator's name and a freshly generated password, and serves the panel with
uvicorn, the production ASGI server, with a task worker (``manage.py
db_worker``) for mailbox imports, until Ctrl-C.

The panel runs with production settings (DEBUG off); only HTTPS-specific ones
(Secure cookies, HTTPS redirect, HSTS) are off because the demo is plain HTTP
on loopback.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.local_processes import LOCALHOST, stop_processes
from devtools.pymap_process import PymapProcess

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "var" / "demo"
OPERATOR = "operator"


def _secret_key_file() -> Path:
    """One random key per checkout, kept in var/ (ignored by git)."""
    key_file = STATE / "secret-key"
    if not key_file.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file


def _panel_env(socket_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "adminpanel.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY_FILE": str(_secret_key_file()),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "PYMAP_ADMIN_PATH": str(socket_path),
            "PYMAP_ADMIN_NAME": "demo pymap",
        }
    )
    env.pop("DJANGO_SECRET_KEY", None)
    return env


def _create_operator(pymap: PymapProcess) -> str:
    from adminpanel.pymap import service

    password = secrets.token_urlsafe(12)
    service.set_user(
        pymap.server(), pymap.admin_token, OPERATOR, password=password, roles=["admin"]
    )
    return password


def _stop_on_sigterm() -> None:
    """Let SIGTERM unwind like Ctrl-C, so pymap and its temp dir are cleaned up."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> int:
    _stop_on_sigterm()
    port = os.environ.get("PANEL_PORT", "8000")
    manage = [sys.executable, str(ROOT / "manage.py")]
    with PymapProcess(imap=True, managesieve=True) as pymap:
        env = _panel_env(pymap.socket_path)
        # The user pages' mailboxes and filters (plaintext: loopback only).
        for service, service_port in (("IMAP", pymap.imap_port), ("MANAGESIEVE", pymap.sieve_port)):
            env[f"PYMAP_{service}_HOST"] = LOCALHOST
            env[f"PYMAP_{service}_PORT"] = str(service_port)
            env[f"PYMAP_{service}_SECURITY"] = "none"
        os.environ.setdefault("DJANGO_DEBUG", "1")  # only for this process's own imports
        password = _create_operator(pymap)
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True
        )
        print(_banner(port, password, pymap), flush=True)
        server = [
            sys.executable, "-m", "uvicorn", "adminpanel.asgi:application",
            "--host", LOCALHOST, "--port", port, "--no-server-header",
        ]  # fmt: skip
        # The task worker that runs mailbox imports, as in production. Both
        # children get their own process group, so Ctrl-C reaches only this
        # process, which then stops each with one SIGTERM (a second signal
        # would make the worker abandon the import it is running).
        worker = subprocess.Popen(  # noqa: S603
            [*manage, "db_worker", "--no-reload", "--interval", "0.5", "--no-startup-delay"],
            env=env,
            cwd=ROOT,
            process_group=0,
        )
        web = subprocess.Popen(server, env=env, cwd=ROOT, process_group=0)  # noqa: S603
        try:
            return _watch(web, worker, pymap)
        except KeyboardInterrupt:
            return 0
        finally:
            # SIGTERM to both: uvicorn finishes its requests and runs the
            # lifespan shutdown (closing channels and database connections);
            # the worker finishes the import it is running first.
            stop_processes(web, worker, timeout=10)


def _banner(port: str, password: str, pymap: PymapProcess) -> str:
    return f"""
pymap admin panel demo: http://{LOCALHOST}:{port}/

Sign in with either
  user name and password:  {OPERATOR} / {password}
                           (admin role; generated for this run)
  the admin token:         choose "Token" and paste the contents of
                           {pymap.token_file}
                           (pymap writes it at start-up; a new one each run)

  pymap:   dict backend, admin socket {pymap.socket_path}
           IMAP {LOCALHOST}:{pymap.imap_port} (demouser / demopass),
           ManageSieve {LOCALHOST}:{pymap.sieve_port}
  worker:  manage.py db_worker (runs imports)
Ctrl-C stops all three.
"""


def _watch(
    web: subprocess.Popen[bytes], worker: subprocess.Popen[bytes], pymap: PymapProcess
) -> int:
    """Wait until one of the three exits; say which, and why it matters."""
    while True:
        if not pymap.running:
            print(
                "\npymap exited, so the panel has nothing to manage; stopping the panel.\n"
                f"pymap's last words:\n{pymap.stderr_tail()}",
                file=sys.stderr,
                flush=True,
            )
            return 1
        for name, child in (("the panel (uvicorn)", web), ("the task worker", worker)):
            code = child.poll()
            if code is not None:
                print(f"\n{name} exited with status {code}; stopping.", file=sys.stderr)
                return code or 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
