"""The redis backend's side of a test server: which Redis, that it is reachable,
and a server's keys (under its own prefix) deleted when it stops."""

from __future__ import annotations

import os
import socket
import subprocess
from urllib.parse import urlsplit

from devtools.local_processes import LOCALHOST
from devtools.pymap_venv import PymapStartError, ensure_pymap_venv

#: Where the redis backend's data goes: the machine's Redis on loopback, in a
#: database of the panel's own (``PYMAP_TEST_REDIS_URL`` overrides), under a
#: key prefix unique to each server, whose keys are deleted when it stops.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_url() -> str:
    """``$PYMAP_TEST_REDIS_URL`` if set, else :data:`DEFAULT_REDIS_URL`."""
    return os.environ.get("PYMAP_TEST_REDIS_URL", "").strip() or DEFAULT_REDIS_URL


def check_reachable(redis_url: str) -> None:
    """A clear error instead of a server that starts but never gets healthy."""
    parsed = urlsplit(redis_url)
    host, port = parsed.hostname or LOCALHOST, parsed.port or 6379
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        raise PymapStartError(
            f"the redis backend needs Redis at {host}:{port}, which refused a "
            f"connection ({exc}); `make redis` starts the machine's Redis"
        ) from exc


def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix``, with pymap's own redis client (the
    panel's venv has none)."""
    python = ensure_pymap_venv().parent / "python"
    script = (
        "import sys, redis\n"
        "r = redis.Redis.from_url(sys.argv[1])\n"
        "keys = list(r.scan_iter(match=sys.argv[2] + '/*', count=1000))\n"
        "for start in range(0, len(keys), 1000):\n"
        "    r.delete(*keys[start:start + 1000])\n"
    )
    subprocess.run(  # noqa: S603
        [str(python), "-c", script, redis_url, prefix],
        check=True,
        capture_output=True,
        timeout=60,
    )
