"""Benchmark: what the panel adds on top of one GetUser (README, "Performance").

Run by hand: ``.venv/bin/python -m devtools.bench.web [--seconds 10]``. In one
run, against the same real pymap (started here, with a certificate this
script makes) and the panel under uvicorn with production settings:

(a) a plain grpclib client calling GetUser on a reused channel;
(b) the panel's sign-in page, the floor of the web stack itself;
(c) the panel's user page, which costs one GetUser;

over the unix socket and over TLS, at 1 and at 16 concurrent connections.
The HTTP load comes from wrk (Debian's package, written in C), so the client
does not eat the CPU it measures. Prints p50/p95 latency, requests per second,
the panel process's peak memory, the gRPC connections, request threads and
database connections it opened, then the ratios against the targets. Not a
test: machines here are shared and noisy, so only ratios measured in the same
run mean anything, and (a), (b) and (c) take turns in short rounds so that a
slow spell of the machine falls on all three; each figure is the median of
its rounds (requests per second: the mean).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grpclib.client import Channel

from adminpanel.pymap import service
from adminpanel.pymap.generated.admin_grpc import UserStub
from adminpanel.pymap.generated.admin_pb2 import GetUserRequest
from adminpanel.pymap.servers import PymapServer
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_report.lua"
SESSION_COOKIE = "pymap_panel_session"
USER_PAGE = "/users/user/?name={name}"


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p95_ms: float
    rps: float
    errors: int = 0


def combine(rounds: Sequence[Figures]) -> Figures:
    """One figure from several rounds: median latencies, mean throughput."""
    return Figures(
        statistics.median(f.p50_ms for f in rounds),
        statistics.median(f.p95_ms for f in rounds),
        statistics.fmean(f.rps for f in rounds),
        sum(f.errors for f in rounds),
    )


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _raw_get_user(
    server: PymapServer, token: str, name: str, seconds: float, concurrency: int
) -> Figures:
    """GetUser in a loop on one reused channel, like any well-written client."""
    if server.uses_tcp:
        channel = Channel(host=server.host, port=server.port, ssl=server.ssl_context())
    else:
        channel = Channel(path=server.path)
    stub = UserStub(channel)
    metadata = {"client-version": service.CLIENT_VERSION, "auth-token": token}
    latencies: list[float] = []
    try:
        for _ in range(50):  # warm up: connection, TLS handshake
            await stub.GetUser(GetUserRequest(user=name), metadata=metadata, timeout=5)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await stub.GetUser(GetUserRequest(user=name), metadata=metadata, timeout=5)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        channel.close()
    return Figures(_percentile(latencies, 50), _percentile(latencies, 95), len(latencies) / elapsed)


def raw_get_user(
    server: PymapServer, token: str, name: str, seconds: float, concurrency: int
) -> Figures:
    return asyncio.run(_raw_get_user(server, token, name, seconds, concurrency))


def wrk(url: str, *, connections: int, seconds: float, cookie: str | None = None) -> Figures:
    command = [
        "wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "10s", "-s", str(WRK_SCRIPT),
    ]  # fmt: skip
    if cookie is not None:
        command += ["-H", f"Cookie: {SESSION_COOKIE}={cookie}"]
    output = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    report = json.loads(output.strip().splitlines()[-1])
    return Figures(report["p50_ms"], report["p95_ms"], report["rps"], report["errors"])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def logged_count(log: str, pattern: str) -> int | None:
    """The last number the panel logged for ``pattern`` (at shutdown)."""
    found = re.findall(pattern, log)
    return int(found[-1]) if found else None


@dataclass(frozen=True)
class TransportResult:
    transport: str
    raw: dict[int, Figures]
    login: dict[int, Figures]
    user: dict[int, Figures]
    peak_mb: float
    grpc_connections: int | None
    request_threads: int | None
    database_connections: int | None


def measure(
    pymap: PymapProcess,
    transport: str,
    seconds: float,
    rounds: int,
    name: str,
    password: str,
) -> TransportResult:
    if transport == "tls":
        server = pymap.tls_server()
        extra = {
            "PYMAP_ADMIN_HOST": str(server.host),
            "PYMAP_ADMIN_PORT": str(server.port),
            "PYMAP_ADMIN_CAFILE": str(server.cafile),
        }
    else:
        server = pymap.server()
        extra = {}
    token = service.login(server, name, password=password)
    turn = seconds / rounds
    with PanelProcess(pymap.socket_path, extra_env={**extra, "PANEL_LOG_LEVEL": "INFO"}) as panel:
        client = PanelClient(panel.url)
        if client.sign_in(name, password).status != 302:
            raise SystemExit("could not sign in to the panel")
        cookie = client.cookie(SESSION_COOKIE)
        user_path = USER_PAGE.format(name=name)
        check = client.get(user_path)
        if check.status != 200 or name not in check.text:
            raise SystemExit(f"{user_path} answered {check.status}; wrong USER_PAGE?")
        sign_in_url, user_url = panel.url + "/accounts/sign-in/", panel.url + user_path
        subjects: dict[str, Callable[[int], Figures]] = {
            "raw": lambda c: raw_get_user(server, token, name, turn, c),
            "login": lambda c: wrk(sign_in_url, connections=c, seconds=turn),
            "user": lambda c: wrk(user_url, connections=c, seconds=turn, cookie=cookie),
        }
        taken: dict[tuple[str, int], list[Figures]] = {}
        for _ in range(rounds):
            for width in (1, 16):
                for label, run in subjects.items():
                    taken.setdefault((label, width), []).append(run(width))
        peak = peak_rss_mb(panel.pid)
    figures = {key: combine(rounds_taken) for key, rounds_taken in taken.items()}
    log = panel.final_log
    return TransportResult(
        transport,
        raw={c: figures["raw", c] for c in (1, 16)},
        login={c: figures["login", c] for c in (1, 16)},
        user={c: figures["user", c] for c in (1, 16)},
        peak_mb=peak,
        grpc_connections=logged_count(log, r"gRPC connections opened: (\d+)"),
        request_threads=logged_count(log, r"Request threads started: (\d+)"),
        database_connections=logged_count(log, r"database connections opened: (\d+)"),
    )


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def report(results: list[TransportResult]) -> bool:
    print("\n| transport | what | conns | p50 ms | p95 ms | req/s | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        rows = (("raw GetUser", r.raw), ("sign-in page", r.login), ("user page", r.user))
        for label, figures in rows:
            for width, f in figures.items():
                cells = f"{f.p50_ms:.2f} | {f.p95_ms:.2f} | {f.rps:.0f} | {f.errors}"
                print(f"| {r.transport} | {label} | {width} | {cells} |")
    print()
    all_met = True
    for r in results:
        added = r.user[1].p50_ms - r.login[1].p50_ms
        budget = r.raw[1].p50_ms + 1.0
        ratio = r.user[16].rps / r.login[16].rps
        conns = r.grpc_connections
        met = (added <= budget, ratio >= 0.6, conns is not None and conns <= 1)
        print(
            f"{r.transport}: user page p50 - sign-in p50 = {added:.2f} ms; "
            f"target <= raw GetUser p50 + 1 ms = {budget:.2f} ms: {_verdict(met[0])}"
        )
        print(
            f"{r.transport}: user page / sign-in req/s at 16 connections = {ratio:.2f}; "
            f"target >= 0.6: {_verdict(met[1])}"
        )
        print(
            f"{r.transport}: gRPC connections opened by the panel = {conns}; target <= 1: "
            f"{_verdict(met[2])}"
        )
        print(
            f"{r.transport}: panel peak memory {r.peak_mb:.0f} MB; request threads started "
            f"{r.request_threads}; database connections opened {r.database_connections}"
        )
        all_met = all_met and all(met)
    return all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="duration of each measurement, all rounds"
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns each measurement takes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    name, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with PymapProcess(tls=True) as pymap:
        service.set_user(pymap.server(), pymap.admin_token, name, password=password)
        results = [
            measure(pymap, t, args.seconds, args.rounds, name, password) for t in ("socket", "tls")
        ]
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
