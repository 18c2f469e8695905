"""Reading pymap's stderr: the last lines for error messages, and the admin
token it prints at start-up (``PYMAP_ADMIN_TOKEN=<macaroon>``, shell-quoted)."""

from __future__ import annotations

import collections
import contextlib
import shlex
import threading
from typing import IO

# Names of things pymap writes, not secrets:
TOKEN_PREFIX = "PYMAP_ADMIN_TOKEN="  # noqa: S105
#: Lines of pymap's stderr kept for error messages.
STDERR_TAIL_LINES = 200


def parse_token_line(line: str) -> str | None:
    """The token from a ``PYMAP_ADMIN_TOKEN=...`` line (pymap shell-quotes it)."""
    if not line.startswith(TOKEN_PREFIX):
        return None
    words = shlex.split(line[len(TOKEN_PREFIX) :])
    return words[0] if words else None


class StderrDrain:
    """Reads a child's stderr in a daemon thread so the pipe never fills up.

    Keeps the last lines for error messages and picks out the admin token.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lines: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._lock = threading.Lock()
        self.token: str | None = None
        self.token_seen = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pymap-stderr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # the pipe closed under us
            for raw in self._stream:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self._lines.append(line)
                token = parse_token_line(line)
                if token is not None:
                    self.token = token
                    self.token_seen.set()

    def tail(self, lines: int = 30) -> str:
        with self._lock:
            return "\n".join(list(self._lines)[-lines:])

    def close(self, timeout: float = 5.0) -> None:
        """Wait for EOF (the child has exited), then close the pipe."""
        self._thread.join(timeout)
        self._stream.close()
