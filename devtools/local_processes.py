"""Processes on loopback for tests, the demo and benchmarks: free ports, a
self-signed certificate, stopping children politely."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

LOCALHOST = "127.0.0.1"
#: How long SIGTERM gets before SIGKILL.
STOP_TIMEOUT = 10.0


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that was free a moment ago (bind port 0, read it, close).

    Another process could take it before pymap binds it; in practice on a
    test machine that does not happen.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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
