"""``python -m devtools.pymap_server [--imap] [--tls] [--backend B]``: a real
pymap server (:class:`devtools.pymap_process.PymapProcess`) for manual work on
the panel, until Ctrl-C; it prints the ``PYMAP_ADMIN_*`` variables to use."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Sequence

from devtools.local_processes import LOCALHOST
from devtools.pymap_process import BACKENDS, PymapProcess
from devtools.pymap_venv import PYMAP_VERSION


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run a server until Ctrl-C and print the settings to point the panel at it."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--imap", action="store_true", help="also serve plaintext IMAP")
    parser.add_argument("--tls", action="store_true", help="serve the admin port with TLS")
    parser.add_argument("--backend", choices=BACKENDS, default="dict", help="storage backend")
    args = parser.parse_args(argv)
    # Let SIGTERM unwind the with-block too, so pymap and the temp dir go away.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with PymapProcess(backend=args.backend, imap=args.imap, tls=args.tls) as pymap:
        print(
            f"# pymap {PYMAP_VERSION} ({pymap.backend}), pid {pymap.pid}, "
            f"up in {pymap.startup_seconds:.2f} s"
        )
        if pymap.tls:
            print(f"export PYMAP_ADMIN_HOST={LOCALHOST} PYMAP_ADMIN_PORT={pymap.admin_port}")
            print(f"export PYMAP_ADMIN_CAFILE={pymap.cafile}")
        else:
            print(f"export PYMAP_ADMIN_PATH={pymap.socket_path}")
        if pymap.imap_port is not None:
            demo = " (demouser / demopass)" if pymap.backend == "dict" else ""
            print(f"# IMAP: {LOCALHOST}:{pymap.imap_port}{demo}")
        print(f"# admin token: {pymap.admin_token}")
        print("# Ctrl-C stops the server.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while pymap.running:
                time.sleep(0.5)
        if not pymap.running:
            print(f"pymap exited:\n{pymap.stderr_tail()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
