"""Processes on loopback for tests, the demo and benchmarks: free ports, a
self-signed certificate, stopping children politely."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

LOCALHOST = "127.0.0.1"
#: How long SIGTERM gets before SIGKILL.
STOP_TIMEOUT = 10.0
#: Starts on freshly picked ports before a lost port race is an error.
PORT_ATTEMPTS = 3


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago.

    All are bound to port 0 at once (so no two are the same), read and
    closed. Another process can take one before our server binds it: with
    a few hundred servers a run, and every process picking from the same
    ephemeral range, that happened in CI. Servers started on picked ports
    therefore try again on new ones when :func:`lost_port_race` says so.
    """
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port(host: str = LOCALHOST) -> int:
    """One port, as :func:`free_ports` picks them."""
    return free_ports(1, host)[0]


def lost_port_race(output: str) -> bool:
    """Whether a server's last output says a port it was given was in use
    (asyncio's bind error, in pymap and in uvicorn alike)."""
    return "address already in use" in output


def make_self_signed_cert(directory: Path, *, days: int = 7) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` for 127.0.0.1/localhost with openssl.

    The certificate is its own CA, so a client trusts it with
    ``cafile=cert.pem``. An EC key keeps generation fast.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("TLS needs the openssl command, which is not on PATH")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(  # noqa: S603
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            str(days),
            "-subj",
            "/CN=localhost",
            "-addext",
            f"subjectAltName=IP:{LOCALHOST},DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def stop_processes(*processes: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to all at once (each shuts down gracefully), SIGKILL after ``timeout``."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
