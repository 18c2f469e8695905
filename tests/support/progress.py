"""Following a run's progress.json over HTTP, as the page's script does."""

from __future__ import annotations

import json
import time

from devtools.panel_client import PanelClient


def finished(
    client: PanelClient, progress_url: str, timeout: float = 120, *, until: str | None = None
) -> dict[str, object]:
    """Poll a progress.json until its run is final (or in state ``until``);
    its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get(progress_url)
        assert reply.status == 200, reply.text[:2000]
        state: dict[str, object] = json.loads(reply.body)
        done = state["state"] == until if until else state["final"]
        if done or time.monotonic() > deadline:
            return state
        time.sleep(0.2)
