"""Run a real pymap server in a child process, for tests and local development.

pymap cannot live in the panel's virtual environment (pymap-admin 0.12.1 pins
``protobuf ~= 4.23``), so it gets its own venv, by default ``.venv-pymap`` at
the repository root (``PYMAP_VENV`` overrides), created on first use.

Each :class:`PymapProcess` owns a temporary directory that it passes to pymap
as ``TMPDIR``: pymap puts its admin unix socket and admin token file under
``$TMPDIR/pymap/``, so several servers can run side by side without sharing
them. Every TCP port is picked free and bound to 127.0.0.1 (and picked anew if
another process takes it before pymap binds it).

Facts about pymap 0.36.7 that shape this module (measured, not guessed):

* The admin service *always* listens on TCP as well as on the unix socket
  (default ``0.0.0.0:50051``), and that TCP port *always* wraps TLS: pymap
  builds a server ``SSLContext`` even without a certificate, and then every
  handshake fails. Without ``--cert``/``--key`` the TCP port is unusable, so
  the unix socket is the default transport here. We still pass
  ``--admin-host 127.0.0.1 --admin-port <free>`` every time, so that two
  servers never fight over 50051 and nothing listens on all interfaces.
* ``--cert``/``--key`` are the IMAP options, but the same ``SSLContext``
  serves the admin port (``IMAPConfig._load_certs``; the ``CERT_FILE`` and
  ``KEY_FILE`` environment variables override them, so we drop those from
  the child's environment). IMAP still runs in plaintext with ``--no-tls``.
* On start-up pymap prints ``PYMAP_ADMIN_TOKEN=<macaroon>`` on stderr and
  writes the same token to ``$TMPDIR/pymap/pymap-admin.token`` *before* it
  opens the socket. A fresh admin key is made on every start, so the token
  changes on :meth:`PymapProcess.restart`.
* SIGTERM stops it cleanly within a fraction of a second.

* ``--sieve-host``/``--sieve-port`` place ManageSieve (port 4190 by default,
  plaintext, STARTTLS only with a certificate); a second server on 4190 dies
  with "address in use", so it is off unless asked for.

``python -m devtools.pymap_server`` runs one for manual work on the panel.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from devtools import pymap_hashing, pymap_redis
from devtools.local_processes import (
    LOCALHOST,
    PORT_ATTEMPTS,
    free_ports,
    lost_port_race,
    make_self_signed_cert,
    stop_processes,
)
from devtools.pymap_stderr import StderrDrain
from devtools.pymap_venv import PymapStartError, child_env, ensure_pymap_venv

if TYPE_CHECKING:
    from adminpanel.pymap.servers import PymapServer

#: The storage backends pymap can run on: dict (in memory, the demo), maildir
#: (files in a directory) and redis (what pymap scales out with).
BACKENDS = ("dict", "maildir", "redis")
#: How long start-up may take before we give up (it usually takes ~0.4 s).
READY_TIMEOUT = 30.0
# Names of things pymap writes, not secrets:
SOCKET_NAME = "pymap-admin.sock"
TOKEN_NAME = "pymap-admin.token"  # noqa: S105
#: sun_path is 108 bytes on Linux (104 on macOS); stay well under both.
MAX_SOCKET_PATH = 100


class PortTakenError(PymapStartError):
    """pymap could not bind a port picked for it: another process took it first."""


# --- the process ------------------------------------------------------------------


class PymapProcess:
    """One pymap server in a child process, with the dict backend by default.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with PymapProcess(imap=True) as pymap:
            service.ping(pymap.server())

    ``backend`` is one of :data:`BACKENDS`: dict (with pymap's demo data),
    maildir (in :attr:`maildir_dir`, under the temporary directory) or redis
    (the machine's Redis, see :data:`devtools.pymap_redis.DEFAULT_REDIS_URL`, under
    :attr:`redis_prefix`). ``imap`` also serves plaintext IMAP on
    :attr:`imap_port`; ``managesieve`` serves ManageSieve (RFC 5804, plaintext)
    on :attr:`sieve_port`; ``tls`` gives the admin TCP port a self-signed
    certificate (:attr:`cafile`) so that :meth:`tls_server` works.
    ``hash_rounds`` is the cost of each password hash (default:
    ``$PYMAP_HASH_ROUNDS``, else pymap's own; see :mod:`devtools.pymap_hashing`).
    ``extra_args`` go before the backend name (global pymap options). Its
    ``TMPDIR`` (and with it the maildir data) is a fresh directory, removed by
    :meth:`stop`, which also deletes the redis backend's keys.
    """

    def __init__(
        self,
        *,
        backend: str = "dict",
        imap: bool = False,
        managesieve: bool = False,
        tls: bool = False,
        extra_args: Sequence[str] = (),
        hash_rounds: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown pymap backend {backend!r}; use one of {BACKENDS}")
        self.backend = backend
        self.imap = imap
        self.managesieve = managesieve
        self.tls = tls
        self.extra_args = tuple(extra_args)
        self.hash_rounds = hash_rounds or pymap_hashing.rounds_from_env()
        #: The redis backend's database and key prefix (kept by restart()).
        self.redis_url = pymap_redis.redis_url()
        self.redis_prefix = f"adminpanel-test-{uuid.uuid4().hex[:12]}"
        self._tmp_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._drain: StderrDrain | None = None
        self._admin_token: str | None = None
        # Chosen on the first start and kept by restart().
        self.imap_port: int | None = None
        self.sieve_port: int | None = None
        self.admin_port: int | None = None
        self.cafile: Path | None = None
        self.keyfile: Path | None = None
        #: Seconds the last start took until Ping answered.
        self.startup_seconds: float | None = None

    # -- state ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def tmp_dir(self) -> Path:
        """The directory pymap gets as ``TMPDIR``."""
        if self._tmp_dir is None:
            raise RuntimeError("pymap has not been started")
        return self._tmp_dir

    @property
    def socket_path(self) -> Path:
        """The admin unix socket, ``$TMPDIR/pymap/pymap-admin.sock``."""
        return self.tmp_dir / "pymap" / SOCKET_NAME

    @property
    def token_file(self) -> Path:
        return self.tmp_dir / "pymap" / TOKEN_NAME

    @property
    def maildir_dir(self) -> Path:
        """The maildir backend's base directory: pymap-etc-passwd, -shadow,
        -group, pymap-tokens and one directory per user."""
        return self.tmp_dir / "maildir"

    @property
    def admin_token(self) -> str:
        """The admin macaroon of the *current* run (a restart makes a new one)."""
        if self._admin_token is None:
            raise RuntimeError("pymap has not been started")
        return self._admin_token

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("pymap has not been started")
        return self._proc.pid

    def stderr_tail(self, lines: int = 30) -> str:
        """The last lines pymap wrote to stderr (for debugging a test)."""
        return self._drain.tail(lines) if self._drain is not None else ""

    # -- connection settings for the panel's client -------------------------------

    def server(self, timeout: float = 5.0, *, name: str | None = None) -> PymapServer:
        """Settings for the admin service over the unix socket (named after
        the backend unless ``name`` is given)."""
        from adminpanel.pymap.servers import PymapServer

        return PymapServer(
            name=name or f"pymap-test-{self.backend}", path=str(self.socket_path), timeout=timeout
        )

    def tls_server(
        self, timeout: float = 5.0, *, name: str = "pymap-test-tls", verify_cert: bool = True
    ) -> PymapServer:
        """Settings for the admin service over TCP with TLS, trusting :attr:`cafile`."""
        from adminpanel.pymap.servers import PymapServer

        if not self.tls or self.cafile is None or self.admin_port is None:
            raise RuntimeError("start PymapProcess(tls=True) to reach the admin port")
        return PymapServer(
            name=name,
            host=LOCALHOST,
            port=self.admin_port,
            cafile=str(self.cafile),
            verify_cert=verify_cert,
            timeout=timeout,
        )

    # -- life cycle -------------------------------------------------------------

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
        """Start pymap and wait until its admin socket answers a Ping.

        Raises :class:`PymapStartError` (with pymap's stderr) if it exits or
        is not ready within ``ready_timeout`` seconds; nothing is left behind.
        """
        if self._proc is not None:
            raise RuntimeError("pymap is already started")
        pymap = ensure_pymap_venv()
        self._prepare_tmp_dir()
        try:
            if self.tls and self.cafile is None:
                self.cafile, self.keyfile = make_self_signed_cert(self.tmp_dir)
            self._spawn_on_ports(pymap)
        except BaseException:
            self._cleanup_tmp_dir()
            raise

    def stop(self) -> None:
        """Stop pymap (SIGTERM, then SIGKILL), remove the temp dir we made and,
        on redis, the keys under our prefix."""
        try:
            self._terminate()
        finally:
            try:
                if self.backend == "redis":
                    pymap_redis.delete_keys(self.redis_url, self.redis_prefix)
            finally:
                self._cleanup_tmp_dir()

    def halt(self) -> None:
        """Stop pymap but keep its ``TMPDIR``, ports and data: :meth:`restart`
        brings it back (for a test that watches the panel while pymap is down)."""
        self._terminate()

    def restart(self) -> None:
        """Stop and start again with the same ``TMPDIR``, ports and data.

        The dict backend keeps its data in memory, so everything but the demo
        data is lost (maildir and redis keep theirs), and the admin token
        changes. Should another process take a port while pymap is down,
        pymap comes back on new ones.
        """
        self._terminate()
        pymap = ensure_pymap_venv()
        self._spawn_on_ports(pymap)

    # -- internals ------------------------------------------------------------------

    def command(self, pymap: Path | str = "pymap") -> list[str]:
        """The pymap command line (without TMPDIR, which goes in the environment)."""
        cmd = [str(pymap)]
        if self.managesieve:
            cmd += ["--sieve-host", LOCALHOST, "--sieve-port", str(self.sieve_port)]
        else:
            cmd += ["--no-service", "managesieve"]
        if self.imap:
            cmd += ["--host", LOCALHOST, "--port", str(self.imap_port), "--no-tls"]
        else:
            cmd += ["--no-service", "imap"]
        if self.tls:
            cmd += ["--cert", str(self.cafile), "--key", str(self.keyfile)]
        cmd += ["--admin-host", LOCALHOST, "--admin-port", str(self.admin_port)]
        cmd += ["--passlib-cfg", str(self.tmp_dir / pymap_hashing.CONFIG_NAME)]
        cmd += [*self.extra_args, *self._backend_args()]
        return cmd

    def _backend_args(self) -> list[str]:
        if self.backend == "maildir":
            return ["maildir", str(self.maildir_dir)]
        if self.backend == "redis":
            prefix = self.redis_prefix
            return [
                "redis",
                "--address",
                self.redis_url,
                "--prefix",
                f"{prefix}/mail",
                "--users-prefix",
                f"{prefix}/users",
            ]
        return ["dict", "--demo-data"]

    def _prepare_tmp_dir(self) -> None:
        if self._tmp_dir is not None:
            return
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="pymap-"))
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            # A long $TMPDIR (macOS) would overflow sun_path; /tmp will not.
            shutil.rmtree(self._tmp_dir)
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="pymap-", dir="/tmp"))
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            raise PymapStartError(f"socket path too long for AF_UNIX: {self.socket_path}")
        pymap_hashing.write_config(self._tmp_dir, self.hash_rounds)

    def _cleanup_tmp_dir(self) -> None:
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
        self._tmp_dir = None
        # New ports and a new certificate next time: the old files are gone.
        self.imap_port = self.sieve_port = self.admin_port = None
        self.cafile = self.keyfile = None

    def _spawn_on_ports(self, pymap: Path) -> None:
        """Spawn pymap on its ports, picking them first if it has none, and
        new ones if another process bound one before pymap could."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self.admin_port is None:
                self.admin_port, imap_port, sieve_port = free_ports(3)
                self.imap_port = imap_port if self.imap else None
                self.sieve_port = sieve_port if self.managesieve else None
            try:
                self._spawn(pymap)
            except PortTakenError:
                if attempt == PORT_ATTEMPTS:
                    raise
                self.admin_port = self.imap_port = self.sieve_port = None
            else:
                return

    def _spawn(self, pymap: Path) -> None:
        if self.backend == "redis":
            pymap_redis.check_reachable(self.redis_url)
        # Stale files from a previous run would make the wait below look at
        # the wrong socket or token.
        for stale in (self.socket_path, self.token_file):
            stale.unlink(missing_ok=True)
        self._admin_token = None
        started = time.monotonic()
        self._proc = subprocess.Popen(  # noqa: S603
            self.command(pymap),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=child_env(self.tmp_dir),
            cwd=self.tmp_dir,
        )
        assert self._proc.stderr is not None
        self._drain = StderrDrain(self._proc.stderr)
        try:
            self._wait_ready(started + READY_TIMEOUT)
        except BaseException:
            self._terminate()
            raise
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, deadline: float) -> None:
        from adminpanel.pymap.errors import PymapError
        from adminpanel.pymap.service import ping

        assert self._proc is not None
        assert self._drain is not None
        probe = self.server(timeout=1.0)
        while True:
            if self._proc.poll() is not None:
                self._drain.close()  # EOF is near: collect the last lines
                tail = self._drain.tail()
                error = PortTakenError if lost_port_race(tail) else PymapStartError
                raise error(
                    f"pymap exited with status {self._proc.returncode} during start-up:\n{tail}"
                )
            if self.socket_path.exists() and self._mail_ports_greet():
                try:
                    ping(probe)
                except PymapError:
                    pass
                else:
                    break
            if time.monotonic() > deadline:
                raise PymapStartError(
                    f"pymap was not ready after {READY_TIMEOUT:g} s:\n{self._drain.tail()}"
                )
            time.sleep(0.05)
        # The token is printed before the socket opens, but the drain thread
        # may not have read it yet; the token file is the fallback.
        if self._drain.token_seen.wait(max(0.0, min(2.0, deadline - time.monotonic()))):
            self._admin_token = self._drain.token
        elif self.token_file.exists():
            self._admin_token = self.token_file.read_text().strip()
        else:
            raise PymapStartError(f"pymap printed no admin token:\n{self._drain.tail()}")

    def _mail_ports_greet(self) -> bool:
        """Whether pymap's IMAP and ManageSieve services (where asked for)
        answer with their greetings. pymap may open its admin socket before
        it binds them, and exit a moment later when a port was taken: Ping
        alone said "ready" then. A connection is not enough either: whatever
        took the port accepts it; only pymap greets (IMAP with ``* OK``,
        ManageSieve with its quoted capabilities)."""
        for port, greeting in ((self.imap_port, b"* OK"), (self.sieve_port, b'"')):
            if port is None:
                continue
            try:
                with socket.create_connection((LOCALHOST, port), timeout=1) as service:
                    if not service.recv(64).startswith(greeting):
                        return False
            except OSError:
                return False
        return True

    def _terminate(self) -> None:
        proc, drain = self._proc, self._drain
        self._proc = self._drain = None
        if proc is not None:
            stop_processes(proc)
        if drain is not None:
            drain.close()
