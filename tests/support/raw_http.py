"""Raw HTTP against a panel under uvicorn: a POST that announces one size
and sends another, and whether the server closed the connection after its
answer (Django's test client never reaches the ASGI guard)."""

from __future__ import annotations

import socket
import time

from devtools.local_processes import LOCALHOST
from devtools.panel_process import PanelProcess

SESSION_COOKIE = "pymap_panel_session"


def post_raw(
    panel: PanelProcess, path: str, announced: int, sent: int, *, cookie: str = ""
) -> tuple[int, float, socket.socket]:
    """POST announcing ``announced`` bytes, send ``sent`` of them, then wait for
    the answer; its status code (0 for none), the seconds it took, and the open
    socket. Only the code: the reason phrase differs between Pythons (3.13's
    http module calls 413 "Content Too Large")."""
    assert panel.port is not None
    connection = socket.create_connection((LOCALHOST, panel.port), timeout=20)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {LOCALHOST}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {announced}\r\n"
        + (f"Cookie: {SESSION_COOKIE}={cookie}\r\n" if cookie else "")
        + "\r\n"
    )
    started = time.monotonic()
    connection.sendall(head.encode())
    chunk = b"x" * 65536
    try:
        for _ in range(sent // len(chunk)):
            connection.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were sending
    reply = b""
    while b"\r\n" not in reply:
        data = connection.recv(4096)
        if not data:
            break
        reply += data
    status_line = reply.split(b"\r\n", 1)[0].split()
    code = int(status_line[1]) if len(status_line) > 1 else 0
    return code, time.monotonic() - started, connection


def closed(connection: socket.socket) -> bool:
    """Whether the server closed the connection after its answer."""
    connection.settimeout(5)
    try:
        while data := connection.recv(65536):
            del data
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True
