"""README command one (`make demo`): it prints both ways to sign in, both
work, and when pymap exits the demo says so and stops the panel."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_processes import LOCALHOST, stop_processes
from devtools.panel_client import PanelClient

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 120


def port_outside_the_ephemeral_range() -> int:
    """A free port below the kernel's ephemeral range, as the demo's own 8000
    is: the demo's pymap picks its ports with bind(0), which once handed it
    the port this test had picked for the panel (uvicorn then answered with
    pymap's IMAP greeting)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(10_000, max(low, 10_001)), 50):
        with socket.socket() as probe:
            try:
                probe.bind((LOCALHOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class Demo:
    """``python -m devtools.demo`` in a process group of its own, its output read as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = port_outside_the_ephemeral_range()
        env = {
            **os.environ,
            "PANEL_PORT": str(self.port),
            # Not the checkout's own demo database, spool and static files.
            "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
            "PANEL_MAIL_SPOOL_DIR": str(tmp_path / "spool"),
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        }
        env.pop("DJANGO_DEBUG", None)  # the demo runs the panel with production settings
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.demo"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.output = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.output += line.decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float = READY_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = re.search(pattern, self.output)
            if found:
                return found
            if self.proc.poll() is not None and not found:
                break
            time.sleep(0.2)
        raise AssertionError(f"the demo never printed {pattern!r}:\n{self.output}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            os.killpg(running.proc.pid, signal.SIGTERM)
        stop_processes(running.proc, timeout=20)
        if running.proc.stdout is not None:
            running.proc.stdout.close()


def _panel_answers(base_url: str) -> PanelClient:
    client = PanelClient(base_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/accounts/sign-in/").status == 200:
                return client
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("the demo's panel never answered")


def _pymap_child(parent: int) -> int:
    """The demo's pymap process (its other children are uvicorn and the worker)."""
    children = subprocess.check_output(["pgrep", "-P", str(parent)], text=True).split()
    for pid in children:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(part.endswith(b"/pymap") for part in command):
            return int(pid)
    raise AssertionError(f"no pymap among the demo's children {children}")


def test_the_demo_prints_both_sign_ins_that_work_and_stops_when_pymap_exits(demo: Demo) -> None:
    password = demo.wait_for(r"operator / (\S+)").group(1)
    token_file = Path(demo.wait_for(r"paste the contents of\s+(\S+)").group(1))
    assert token_file.name == "pymap-admin.token"
    base_url = f"http://{LOCALHOST}:{demo.port}"

    signed_in = _panel_answers(base_url)
    assert signed_in.sign_in("operator", password).status == 302
    assert "Signed in" in signed_in.get("/").text
    with_token = PanelClient(base_url)
    assert with_token.sign_in_with_token(token_file.read_text().strip()).status == 302
    assert "admin token" in with_token.get("/").text
    assert token_file.read_text().strip() not in demo.output  # the file, not the secret

    os.kill(_pymap_child(demo.proc.pid), signal.SIGKILL)
    assert demo.proc.wait(timeout=30) == 1
    demo.wait_for(r"pymap exited, so the panel has nothing to manage")
    with pytest.raises(urllib.error.URLError):
        PanelClient(base_url, timeout=2).get("/accounts/sign-in/")
