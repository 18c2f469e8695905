"""Benchmark: importing an mbox through the panel against two baselines.

Run by hand (it is not a test): ``python -m devtools.bench.imports
[--backend maildir]``. In one run, against one real pymap (dict backend by
default, unix socket), it appends the same 1,000 messages three ways, each
into a fresh user's INBOX, all with the same kind of token (a login token for
that user):

(a) a loop of ``pymap-admin append`` (one process per message), timed on a
    sample and extrapolated to the whole set;
(b) a plain grpclib client: one channel, ``asyncio.Semaphore(concurrency)``,
    unordered, no bookkeeping;
(c) the panel: the real web process (uvicorn) and task worker
    (``manage.py db_worker``), with the mbox uploaded over HTTP and the import
    followed through ``progress.json`` until it ends.

On a backend that numbers parallel Appends in the order they finish (redis),
the panel sends one message at a time to keep the archive's order; the plain
client is then also timed one at a time, (b1), to show what the order costs.

It then uploads an mbox of about 100 MB to fresh panel processes and reports
the peak resident memory (VmHWM) of the web process that took the upload and
of the worker that imported it. Prints the rates and the ratios; the README
has a table of results.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.bench.web import peak_rss_mb
from devtools.local_processes import LOCALHOST
from devtools.panel_client import PanelClient
from devtools.panel_process import PanelProcess
from devtools.pymap_process import BACKENDS, PymapProcess
from devtools.pymap_venv import default_venv_dir

# --- the messages ------------------------------------------------------------------


def make_messages(count: int, mean_size: int, seed: int = 1) -> list[bytes]:
    """Plain-text messages of varied size around ``mean_size`` bytes."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    messages = []
    for index in range(1, count + 1):
        size = max(200, int(rng.expovariate(1 / mean_size)))
        line = b"The quick brown fox jumps over the lazy dog, message %d.\r\n" % index
        body = line * (size // len(line) + 1)
        messages.append(
            b"From: Bench <bench@example.org>\r\nTo: user@example.org\r\n"
            b"Subject: benchmark message %d\r\nMessage-ID: <%d.%s@bench.example.org>\r\n"
            b"Date: Mon, 03 Feb 2020 10:00:00 +0000\r\n\r\n%s"
            % (index, index, uuid.uuid4().hex.encode(), body[:size])
        )
    return messages


def write_mbox(path: Path, messages: list[bytes]) -> int:
    with path.open("wb") as out:
        for data in messages:
            out.write(b"From bench@example.org Mon Feb  3 10:00:00 2020\n")
            out.write(data)
            out.write(b"\n\n" if not data.endswith(b"\n") else b"\n")
    return path.stat().st_size


# --- (a) the CLI loop ----------------------------------------------------------------


def cli_loop(pymap: PymapProcess, token: str, user: str, messages: list[bytes]) -> float:
    """Seconds for ``pymap-admin append`` once per message."""
    cli = default_venv_dir() / "bin" / "pymap-admin"
    env = {**os.environ, "PYMAP_ADMIN_TOKEN": token}
    started = time.perf_counter()
    for data in messages:
        subprocess.run(  # noqa: S603
            [str(cli), "--path", str(pymap.socket_path), "append", user],
            input=data,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


# --- (b) a plain grpclib client ---------------------------------------------------------


def plain_client(
    pymap: PymapProcess, token: str, user: str, messages: list[bytes], concurrency: int
) -> float:
    # The benchmark's own baseline client, deliberately without the panel's
    # service layer: the generated stubs and a grpclib channel, nothing else.
    from grpclib.client import Channel

    from adminpanel.pymap import service
    from adminpanel.pymap.generated.admin_grpc import MailboxStub
    from adminpanel.pymap.generated.admin_pb2 import SUCCESS, AppendRequest

    async def run() -> float:
        channel = Channel(path=str(pymap.socket_path))
        stub = MailboxStub(channel)
        metadata = {"client-version": service.CLIENT_VERSION, "auth-token": token}
        slots = asyncio.Semaphore(concurrency)

        async def one(data: bytes) -> None:
            async with slots:
                request = AppendRequest(user=user, data=data, when=int(time.time()))
                response = await stub.Append(request, metadata=metadata, timeout=30)
                assert response.result.code == SUCCESS

        try:
            started = time.perf_counter()
            await asyncio.gather(*(one(data) for data in messages))
            return time.perf_counter() - started
        finally:
            channel.close()

    return asyncio.run(run())


# --- (c) the panel ---------------------------------------------------------------------


def start_panel(pymap: PymapProcess, concurrency: int) -> PanelProcess:
    """The panel's web process and task worker, on a database of their own."""
    extra = {
        "PANEL_IMPORT_CONCURRENCY": str(concurrency),
        "PANEL_LOG_LEVEL": "WARNING",
        "PYMAP_ADMIN_TIMEOUT": "30",
    }
    panel = PanelProcess(pymap.socket_path, task_worker=True, extra_env=extra)
    panel.start()
    return panel


def upload(panel: PanelProcess, client: PanelClient, user: str, mbox: Path) -> int:
    """Stream a multipart upload of ``mbox`` (never in memory); the import's number."""
    client.get("/mail/import/")  # sets the CSRF cookie
    boundary = uuid.uuid4().hex
    fields = {
        "csrfmiddlewaretoken": client.cookie("csrftoken") or "",
        "user": user,
        "mailbox": "INBOX",
        "date_source": "now",
        "keywords": "",
    }
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        .encode()
        for name, value in fields.items()
    )  # fmt: skip
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; '
        f'filename="{mbox.name}"\r\nContent-Type: application/mbox\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with mbox.open("rb") as stream:
            while chunk := stream.read(1024 * 1024):
                yield chunk
        yield tail

    assert panel.port is not None
    connection = http.client.HTTPConnection(LOCALHOST, panel.port, timeout=600)
    try:
        connection.request(
            "POST",
            "/mail/import/",
            body=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + mbox.stat().st_size + len(tail)),
                "Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookies),
            },
        )
        response = connection.getresponse()
        page = response.read()
        location = response.getheader("Location") or ""
    finally:
        connection.close()
    assert response.status == 302, (response.status, page[:2000])
    match = re.search(r"/mail/import/(\d+)/", location)
    assert match is not None
    return int(match[1])


def signed_in(panel: PanelProcess, operator: tuple[str, str] | str) -> PanelClient:
    """A client signed in as (name, password), or with a token."""
    client = PanelClient(panel.url, timeout=600)
    if isinstance(operator, str):
        assert client.sign_in_with_token(operator).status == 302
    else:
        assert client.sign_in(*operator).status == 302
    return client


def wait(client: PanelClient, job: int) -> dict[str, object]:
    while True:
        progress: dict[str, object] = json.loads(
            client.get(f"/mail/import/{job}/progress.json").body
        )
        if progress["final"]:
            return progress
        time.sleep(0.05)


@dataclass
class PanelRun:
    upload_seconds: float
    run_seconds: float
    end_to_end_seconds: float
    web_peak_mb: float
    worker_peak_mb: float
    progress: dict[str, object]


def panel_import(panel: PanelProcess, client: PanelClient, user: str, mbox: Path) -> PanelRun:
    """Upload ``mbox`` for ``user`` and wait until the import has finished."""
    started = time.perf_counter()
    job = upload(panel, client, user, mbox)
    uploaded = time.perf_counter()
    progress = wait(client, job)
    ended = time.perf_counter()
    assert progress["state"] == "finished", progress
    assert progress["delivered"] == progress["total"], progress
    elapsed = progress["elapsed_seconds"]
    assert isinstance(elapsed, float)
    return PanelRun(
        upload_seconds=uploaded - started,
        run_seconds=elapsed,
        end_to_end_seconds=ended - started,
        web_peak_mb=peak_rss_mb(panel.pid),
        worker_peak_mb=peak_rss_mb(panel.worker_pid),
        progress=progress,
    )


# --- the run ----------------------------------------------------------------------------


def report(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--mean-size", type=int, default=8000, help="bytes (default 8000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cli-sample", type=int, default=50, help="CLI runs to time")
    parser.add_argument("--repeat", type=int, default=5, help="turns of (b) and (c)")
    parser.add_argument("--big-mb", type=int, default=100, help="size of the memory run's mbox")
    parser.add_argument("--skip-big", action="store_true", help="skip the memory run")
    parser.add_argument("--backend", choices=BACKENDS, default="dict", help="pymap's backend")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # this process's own imports only
    from adminpanel.pymap import backends, service

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        with PymapProcess(backend=args.backend, imap=False) as pymap:
            server = pymap.server(timeout=30)
            caps = backends.capabilities({backends.Backend(args.backend)})
            admin: tuple[str, str] | str
            if caps.only_admin_token_acts_on_others:
                # maildir: only the admin token may act on other users.
                admin = admin_token = pymap.admin_token
            else:
                admin = ("bench-admin", secrets.token_urlsafe(12))
                service.set_user(
                    server, pymap.admin_token, admin[0], password=admin[1], roles=["admin"]
                )
                admin_token = service.login(server, admin[0], password=admin[1])

            def fresh_user(name: str) -> tuple[str, str]:
                service.set_user(server, admin_token, name, password=secrets.token_urlsafe(12))
                return name, service.login(server, name, token=admin_token)

            messages = make_messages(args.messages, args.mean_size)
            mbox = workdir / "bench.mbox"
            mbox_size = write_mbox(mbox, messages)
            report(
                f"{len(messages)} messages, {mbox_size / 1e6:.1f} MB mbox, "
                f"concurrency {args.concurrency}, pymap {args.backend} {pymap.socket_path}"
            )

            user, token = fresh_user("bench-cli")
            sample = messages[: args.cli_sample]
            cli_seconds = cli_loop(pymap, token, user, sample) * len(messages) / len(sample)
            report(
                f"(a) CLI loop: {len(messages) / cli_seconds:8.1f} msg/s ({cli_seconds:.1f} s, "
                f"extrapolated from {len(sample)} runs)"
            )

            # The plain client and the panel take turns, several times, and the
            # medians are compared: this machine's speed varies from run to run.
            plain_runs: list[float] = []
            ordered_runs: list[float] = []
            panel_runs: list[PanelRun] = []
            panel = start_panel(pymap, args.concurrency)
            try:
                client = signed_in(panel, admin)
                for turn in range(args.repeat):
                    user, token = fresh_user(f"bench-plain-{turn}")
                    plain_runs.append(plain_client(pymap, token, user, messages, args.concurrency))
                    if not caps.keeps_order_of_parallel_appends:
                        user, token = fresh_user(f"bench-ordered-{turn}")
                        ordered_runs.append(plain_client(pymap, token, user, messages, 1))
                    user, _ = fresh_user(f"bench-panel-{turn}")
                    panel_runs.append(panel_import(panel, client, user, mbox))
                    report(
                        f"    turn {turn + 1}: plain {plain_runs[-1]:.2f} s, panel worker run "
                        f"{panel_runs[-1].run_seconds:.2f} s, upload to done "
                        f"{panel_runs[-1].end_to_end_seconds:.2f} s"
                    )
            finally:
                panel.stop()
            plain_seconds = statistics.median(plain_runs)
            run_seconds = statistics.median(run.run_seconds for run in panel_runs)
            end_to_end = statistics.median(run.end_to_end_seconds for run in panel_runs)
            last = panel_runs[-1]
            report(
                f"(b) plain grpclib client: {len(messages) / plain_seconds:8.1f} msg/s "
                f"(median {plain_seconds:.2f} s of {args.repeat})"
            )
            if ordered_runs:
                ordered = statistics.median(ordered_runs)
                report(
                    f"(b1) plain client, one at a time: {len(messages) / ordered:8.1f} msg/s "
                    f"(median {ordered:.2f} s); the order costs "
                    f"{ordered / plain_seconds:.2f}x the parallel time"
                )
            report(
                f"(c) panel import: {len(messages) / run_seconds:8.1f} msg/s (median worker "
                f"run {run_seconds:.2f} s: split, appends, bookkeeping); upload to done "
                f"{end_to_end:.2f} s = {len(messages) / end_to_end:.1f} msg/s"
            )
            report(
                f"    peak memory: web {last.web_peak_mb:.0f} MB, "
                f"worker {last.worker_peak_mb:.0f} MB"
            )
            report(
                f"ratio panel / CLI loop:     {cli_seconds / run_seconds:8.1f}x (upload to "
                f"done: {cli_seconds / end_to_end:.1f}x; target >= 50x)"
            )
            report(
                f"ratio panel / plain client: {plain_seconds / run_seconds:8.2f}x (upload to "
                f"done: {plain_seconds / end_to_end:.2f}x; target >= 0.7x)"
            )

            if not args.skip_big:
                mean = 100_000
                count = args.big_mb * 1_000_000 // mean
                big = workdir / "big.mbox"
                big_size = write_mbox(big, make_messages(count, mean, seed=2))
                user, _ = fresh_user("bench-memory")
                # Fresh processes, so that their peak is this upload's alone.
                panel = start_panel(pymap, args.concurrency)
                try:
                    big_run = panel_import(panel, signed_in(panel, admin), user, big)
                finally:
                    panel.stop()
                report(
                    f"{big_size / 1e6:.0f} MB mbox ({count} messages): peak memory web "
                    f"{big_run.web_peak_mb:.0f} MB, worker {big_run.worker_peak_mb:.0f} MB "
                    f"(target < 150 MB); worker run {big_run.run_seconds:.1f} s, upload "
                    f"{big_run.upload_seconds:.1f} s"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
