"""Benchmark: a CSV's plan and its apply through the panel against baselines.

Run by hand (it is not a test): ``python -m devtools.bench.bulk [--backend
maildir] [--plan-rows 10000] [--users 500]``. In one run, against one real
pymap (dict by default, unix socket), all with the same token (an admin-role
user's login token; pymap's admin token on maildir, where only it may act on
other users):

The plan: a CSV of ``--plan-rows`` new users is planned by the panel's worker
(the upload answers at once; one read per row, ``PANEL_BULK_CONCURRENCY`` at
a time, followed through ``progress.json`` once a second, as a browser
does, and every 50 ms once its rate says the end is near) and, in turns
with it, a plain
grpclib loop makes the same reads (GetUser; on maildir with the admin token
the Login for the user's own token that the panel reads its record with)
with the same concurrency. Rows per second of each and their ratio.

Then it creates ``--users`` new users three ways, each with a password:

(a) a shell-style loop of ``pymap-admin set-user --no-overwrite`` (one
    process per user), timed on a sample and extrapolated;
(b) a plain grpclib client: one channel, ``asyncio.Semaphore(concurrency)``,
    SetUser with overwrite off, nothing else;
(c) the panel: the real web process (uvicorn) and task worker, the CSV
    uploaded over HTTP (the plan: one GetUser per row), then applied, followed
    through ``progress.json`` until it ends. Each row is what the user pages
    do: SetUser, a GetUser reading back what was stored (and on maildir a
    GetUser first, since it would replace an existing user), its audit record.

(b) and (c) take turns ``--repeat`` times; medians are compared. pymap's CPU
time (utime + stime of its process) is read around each run, to say where the
time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import http.client
import io
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.local_processes import LOCALHOST
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import BACKENDS, PymapProcess
from devtools.pymap_venv import default_venv_dir


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def users(prefix: str, count: int) -> list[tuple[str, str]]:
    return [
        (f"{prefix}-{i:04d}-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(12))
        for i in range(count)
    ]


# --- (a) the CLI loop ---------------------------------------------------------------


def cli_loop(pymap: PymapProcess, token: str, batch: list[tuple[str, str]]) -> float:
    cli = default_venv_dir() / "bin" / "pymap-admin"
    env = {**os.environ, "PYMAP_ADMIN_TOKEN": token}
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        for name, password in batch:
            secret = Path(directory) / "password"
            secret.write_text(password)
            subprocess.run(  # noqa: S603
                [str(cli), "--path", str(pymap.socket_path), "set-user", "--no-overwrite",
                 "--password-file", str(secret), name],
                env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        return time.perf_counter() - started


# --- (b) a plain grpclib client -----------------------------------------------------


def plain_client(
    pymap: PymapProcess, token: str, batch: list[tuple[str, str]], concurrency: int
) -> float:
    # Deliberately without the panel's service layer: the stubs and a channel.
    from grpclib.client import Channel

    from adminpanel.pymap import service
    from adminpanel.pymap.generated.admin_grpc import UserStub
    from adminpanel.pymap.generated.admin_pb2 import SUCCESS, SetUserRequest, UserData

    async def run() -> float:
        channel = Channel(path=str(pymap.socket_path))
        stub = UserStub(channel)
        metadata = {"client-version": service.CLIENT_VERSION, "auth-token": token}
        slots = asyncio.Semaphore(concurrency)

        async def one(name: str, password: str) -> None:
            async with slots:
                request = SetUserRequest(
                    user=name, data=UserData(password=password), overwrite=False
                )
                response = await stub.SetUser(request, metadata=metadata, timeout=60)
                assert response.result.code == SUCCESS, response

        try:
            started = time.perf_counter()
            await asyncio.gather(*(one(name, password) for name, password in batch))
            return time.perf_counter() - started
        finally:
            channel.close()

    return asyncio.run(run())


# --- (c) the panel -----------------------------------------------------------------


def csv_of(batch: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "password", "action"])
    for name, password in batch:
        writer.writerow([name, password, "create"])
    return out.getvalue().encode()


def plain_reads(
    pymap: PymapProcess, token: str, names: list[str], concurrency: int, *, own_token: bool
) -> float:
    """The plan's reads without the panel: GetUser per name (``own_token``:
    a Login for the user's own token instead, which for a new user is
    refused as the GetUser would be)."""
    from grpclib.client import Channel

    from adminpanel.pymap import service
    from adminpanel.pymap.generated.admin_grpc import SystemStub, UserStub
    from adminpanel.pymap.generated.admin_pb2 import GetUserRequest, LoginRequest

    async def run() -> float:
        channel = Channel(path=str(pymap.socket_path))
        users_stub, system = UserStub(channel), SystemStub(channel)
        metadata = {"client-version": service.CLIENT_VERSION, "auth-token": token}
        slots = asyncio.Semaphore(concurrency)

        async def one(name: str) -> None:
            async with slots:
                if own_token:
                    login = LoginRequest(authcid=name)
                    await system.Login(login, metadata=metadata, timeout=60)
                else:
                    await users_stub.GetUser(
                        GetUserRequest(user=name), metadata=metadata, timeout=60
                    )

        try:
            started = time.perf_counter()
            await asyncio.gather(*(one(name) for name in names))
            return time.perf_counter() - started
        finally:
            channel.close()

    return asyncio.run(run())


def _next_poll(progress: dict[str, Any]) -> float:
    """Seconds to the next look at a plan being read: a browser's cadence (1 s)
    while the rate says the end is further off, then every 50 ms so the end is
    seen within 50 ms. Polling every 50 ms throughout cost uvicorn 12 % of a
    core (2.5 ms a look), taken from the two cores pymap and the worker share."""
    rate = float(progress.get("rate") or 0)
    left = int(progress["total"]) - int(progress.get("read", 0))
    if rate and left / rate > 1.5:
        return min(1.0, left / rate - 1.0)
    return 0.05


def panel_plan(panel: PanelProcess, client: PanelClient, data: bytes, rows: int) -> float:
    """Upload, wait until the worker has made the plan; seconds, then cancel it."""
    started = time.perf_counter()
    plan = upload(panel, client, data)
    print(f"    upload answered in {time.perf_counter() - started:.1f} s", flush=True)
    while True:
        progress = json.loads(client.get(f"/bulk/{plan}/progress.json").body)
        if progress["state"] not in ("reading", "running", "queued"):
            break
        time.sleep(_next_poll(progress))
    seconds = time.perf_counter() - started
    assert progress["state"] == "planned", progress
    assert client.post(f"/bulk/{plan}/cancel/", {}).status == 302
    return seconds


def upload(panel: PanelProcess, client: PanelClient, data: bytes) -> int:
    client.get("/bulk/")  # the CSRF cookie
    boundary = uuid.uuid4().hex
    token = client.cookie("csrftoken") or ""
    disposition = "Content-Disposition: form-data; name="
    body = (
        f'--{boundary}\r\n{disposition}"csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\n{disposition}"upload"; filename="users.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    assert panel.port is not None
    connection = http.client.HTTPConnection(LOCALHOST, panel.port, timeout=600)
    try:
        connection.request(
            "POST",
            "/bulk/",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookies),
            },
        )
        response = connection.getresponse()
        page = response.read()
        location = response.getheader("Location") or ""
    finally:
        connection.close()
    assert response.status == 302, (response.status, page[:3000])
    match = re.search(r"/bulk/(\d+)/", location)
    assert match is not None
    return int(match[1])


@dataclass
class PanelRun:
    plan_seconds: float
    run_seconds: float
    apply_to_done_seconds: float
    pymap_cpu_plan: float
    pymap_cpu_apply: float
    worker_cpu_apply: float


def panel_bulk(
    panel: PanelProcess, client: PanelClient, pymap: PymapProcess, data: bytes, count: int
) -> PanelRun:
    cpu0 = cpu_seconds(pymap.pid)
    started = time.perf_counter()
    plan = upload(panel, client, data)
    while json.loads(client.get(f"/bulk/{plan}/progress.json").body)["state"] != "planned":
        time.sleep(0.05)
    planned = time.perf_counter()
    cpu1 = cpu_seconds(pymap.pid)
    worker0 = cpu_seconds(panel.worker_pid)
    assert client.post(f"/bulk/{plan}/apply/", {}).status == 302
    while True:
        progress = json.loads(client.get(f"/bulk/{plan}/progress.json").body)
        if progress["final"]:
            break
        time.sleep(0.05)
    done = time.perf_counter()
    assert progress["state"] == "finished", progress
    assert progress["counts"]["applied"] == count, progress
    return PanelRun(
        plan_seconds=planned - started,
        run_seconds=progress["elapsed_seconds"],
        apply_to_done_seconds=done - planned,
        pymap_cpu_plan=cpu1 - cpu0,
        pymap_cpu_apply=cpu_seconds(pymap.pid) - cpu1,
        worker_cpu_apply=cpu_seconds(panel.worker_pid) - worker0,
    )


def report(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500, help="users created (apply)")
    parser.add_argument("--plan-rows", type=int, default=10_000, help="rows planned")
    parser.add_argument("--plan-only", action="store_true", help="only the plan's benchmark")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cli-sample", type=int, default=30, help="CLI runs to time")
    parser.add_argument("--repeat", type=int, default=3, help="turns of (b) and (c)")
    parser.add_argument("--backend", choices=BACKENDS, default="dict", help="pymap's backend")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    from adminpanel.pymap import backends, service

    with PymapProcess(backend=args.backend, imap=False) as pymap:
        server = pymap.server(timeout=60)
        caps = backends.capabilities({backends.Backend(args.backend)})
        operator: tuple[str, str] | str
        if caps.only_admin_token_acts_on_others:
            operator = token = pymap.admin_token
        else:
            operator = ("bench-admin", secrets.token_urlsafe(12))
            service.set_user(
                server, pymap.admin_token, operator[0], password=operator[1], roles=["admin"]
            )
            token = service.login(server, operator[0], password=operator[1])
        report(
            f"{args.users} creates, concurrency {args.concurrency}, pymap {args.backend}, "
            f"token: {'admin token' if isinstance(operator, str) else 'admin-role login token'}"
        )

        cli_seconds = 0.0
        if not args.plan_only:
            # One SetUser at a time: the server's own cost of a create.
            sample = users("bench-one", 20)
            cpu0 = cpu_seconds(pymap.pid)
            one_at_a_time = plain_client(pymap, token, sample, 1)
            per_create_cpu = (cpu_seconds(pymap.pid) - cpu0) / len(sample)
            report(
                f"    one SetUser at a time: {1000 * one_at_a_time / len(sample):.0f} ms each, "
                f"{1000 * per_create_cpu:.0f} ms of pymap CPU each (password hashing)"
            )

            batch = users("bench-cli", args.cli_sample)
            cli_seconds = cli_loop(pymap, token, batch) * args.users / len(batch)
            report(
                f"(a) CLI loop: {args.users / cli_seconds:6.1f} users/s ({cli_seconds:.1f} s, "
                f"extrapolated from {len(batch)} runs)"
            )

        extra = {
            "PANEL_BULK_CONCURRENCY": str(args.concurrency),
            "PANEL_LOG_LEVEL": "WARNING",
            "PYMAP_ADMIN_TIMEOUT": "60",
            "PANEL_BULK_MAX_ROWS": str(max(args.users, args.plan_rows, 5000)),
            "PANEL_BULK_MAX_BYTES": str(64 * 1024 * 1024),
        }
        plain_plans: list[float] = []
        panel_plans: list[float] = []
        plain_runs: list[float] = []
        plain_cpu: list[float] = []
        panel_runs: list[PanelRun] = []
        panel = PanelProcess(pymap.socket_path, task_worker=True, extra_env=extra)
        panel.start()
        try:
            client = PanelClient(panel.url, timeout=600)
            if isinstance(operator, str):
                assert client.sign_in_with_token(operator).status == 302
            else:
                assert client.sign_in(*operator).status == 302
            own_token = caps.merges_caller_roles and isinstance(operator, str)
            for turn in range(args.repeat):
                names = [name for name, _ in users(f"pp{turn}", args.plan_rows)]
                plain_plans.append(
                    plain_reads(pymap, token, names, args.concurrency, own_token=own_token)
                )
                rows = [(name, "") for name, _ in users(f"pc{turn}", args.plan_rows)]
                panel_plans.append(panel_plan(panel, client, csv_of(rows), args.plan_rows))
                report(
                    f"    plan turn {turn + 1}: {args.plan_rows} rows, plain reads "
                    f"{plain_plans[-1]:.1f} s, panel plan {panel_plans[-1]:.1f} s"
                )
            for turn in range(0 if args.plan_only else args.repeat):
                cpu0 = cpu_seconds(pymap.pid)
                plain_runs.append(
                    plain_client(pymap, token, users(f"bp{turn}", args.users), args.concurrency)
                )
                plain_cpu.append(cpu_seconds(pymap.pid) - cpu0)
                data = csv_of(users(f"bc{turn}", args.users))
                panel_runs.append(panel_bulk(panel, client, pymap, data, args.users))
                last = panel_runs[-1]
                report(
                    f"    turn {turn + 1}: plain {plain_runs[-1]:.1f} s; panel plan "
                    f"{last.plan_seconds:.1f} s, worker run {last.run_seconds:.1f} s, apply "
                    f"to done {last.apply_to_done_seconds:.1f} s"
                )
        finally:
            panel.stop()

    rows_plain = args.plan_rows / statistics.median(plain_plans)
    rows_panel = args.plan_rows / statistics.median(panel_plans)
    report(
        f"plan of {args.plan_rows} rows: plain reads {rows_plain:.0f} rows/s, panel "
        f"{rows_panel:.0f} rows/s (upload to plan shown); ratio {rows_panel / rows_plain:.2f}x "
        "(target >= 0.8x)"
    )
    if args.plan_only:
        return 0
    plain = statistics.median(plain_runs)
    run = statistics.median(r.run_seconds for r in panel_runs)
    to_done = statistics.median(r.apply_to_done_seconds for r in panel_runs)
    planning = statistics.median(r.plan_seconds for r in panel_runs)
    n = args.users
    report(f"(b) plain grpclib client: {n / plain:6.1f} users/s (median {plain:.1f} s)")
    report(
        f"(c) panel apply: {n / run:6.1f} users/s (median worker run {run:.1f} s; apply "
        f"to done {to_done:.1f} s); plan (upload, {n} GetUser) {planning:.1f} s"
    )
    report(
        f"    pymap CPU per user: plain {1000 * statistics.median(plain_cpu) / n:.0f} ms, "
        f"panel apply {1000 * statistics.median(r.pymap_cpu_apply for r in panel_runs) / n:.0f}"
        f" ms, panel plan {1000 * statistics.median(r.pymap_cpu_plan for r in panel_runs) / n:.0f}"
        " ms"
    )
    worker_cpu = statistics.median(r.worker_cpu_apply for r in panel_runs)
    report(f"    panel worker CPU per user while applying: {1000 * worker_cpu / n:.0f} ms")
    report(f"ratio panel / plain client: {plain / run:.2f}x worker run, "
           f"{plain / to_done:.2f}x apply to done (target >= 0.8x)")  # fmt: skip
    report(f"ratio panel / CLI loop:     {cli_seconds / run:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
