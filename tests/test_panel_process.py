"""The panel under its production server, with a task worker beside it."""

from __future__ import annotations

import os
import urllib.request

import pytest

from devtools import panel_process
from devtools.local_processes import free_port
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_the_task_worker_runs_beside_the_web_process_and_stops_with_it(
    pymap: PymapProcess,
) -> None:
    panel = PanelProcess(pymap.socket_path, task_worker=True)
    with panel:
        web, worker = panel.pid, panel.worker_pid
        with urllib.request.urlopen(f"{panel.url}/accounts/sign-in/", timeout=10) as page:  # noqa: S310
            assert page.status == 200
        assert _running(web)
        assert _running(worker)
        assert panel.env()["PANEL_MAIL_SPOOL_DIR"].startswith(str(panel.log_path.parent))
    assert not _running(web)
    assert not _running(worker)


@pytest.mark.backends("dict")  # the port is the web process's; any backend will do
def test_a_port_taken_before_uvicorn_binds_it_is_picked_again(
    pymap: PymapProcess, monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    picks: list[int] = []

    def first_port_taken() -> int:
        picks.append(free_port() if picks else taken_port)
        return picks[-1]

    monkeypatch.setattr(panel_process, "free_port", first_port_taken)
    with PanelProcess(pymap.socket_path) as panel:
        assert panel.port == picks[1] != taken_port
        with urllib.request.urlopen(f"{panel.url}/accounts/sign-in/", timeout=10) as page:  # noqa: S310
            assert page.status == 200
        assert "address already in use" in panel.log_tail()
