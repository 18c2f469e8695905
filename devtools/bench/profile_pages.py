"""Where a page's time goes: the sign-in page, the dashboard, a user page and
the audit page, under production settings (docs/performance.md, "Profile").

Run by hand: ``.venv/bin/python -m devtools.bench.profile_pages [--requests 300]``.
It starts a real pymap (dict backend), sets this process up as the panel is
in production (DEBUG off, SQLite, the same middleware, templates and
sessions; plain HTTP, so the HTTPS-only settings are off) and requests each
page through Django's own handler ``--requests`` times, timing what the
request spends in: rendering templates, the context processors, the session, the database
queries (how many, how long), and calls to pymap, split into the call on the
event loop and the hop from the request's thread to the loop and back.
Then it runs cProfile over the same requests and prints the functions that
cost most (own time). Not uvicorn's or the ASGI adapter's share: ``make
bench`` measures whole pages under uvicorn; the difference is theirs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.pymap_process import PymapProcess

PAGES = {
    "sign-in": "/accounts/sign-in/",
    "dashboard": "/",
    "user": "/users/user/?name={name}",
    "audit": "/audit/",
}


class Timers:
    """Seconds and counts per part, for the request being timed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.counts[name] += 1

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.part(name):
                return func(*args, **kwargs)

        return timed


def _production_settings(tmp: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "adminpanel.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "DJANGO_STATIC_ROOT": str(tmp / "static"),
            "DATABASE_URL": f"sqlite:///{tmp / 'panel.sqlite3'}",
            "PANEL_MAIL_SPOOL_DIR": str(tmp / "spool"),
        }
    )


def _instrument(timers: Timers) -> None:
    """Time the parts of a request (patches this process's Django and panel)."""
    from django.db import connection
    from django.template import engines
    from django.template.backends.django import Template

    from adminpanel.accounts.session_store import SessionStore
    from adminpanel.pymap import channels

    Template.render = timers.wrap("templates (whole render)", Template.render)  # type: ignore[method-assign]
    SessionStore.load = timers.wrap("session load (query)", SessionStore.load)  # type: ignore[method-assign]
    SessionStore.save = timers.wrap("session save (query)", SessionStore.save)  # type: ignore[method-assign]

    engine = engines["django"].engine  # type: ignore[attr-defined]
    engine.template_context_processors = tuple(
        timers.wrap(f"context processor {p.__module__}.{p.__name__}", p)
        for p in engine.template_context_processors
    )

    def query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        with timers.part("database queries"):
            return execute(sql, params, many, context)

    connection.execute_wrappers.append(query)

    run = channels.run

    def timed_run(func: Any, *args: Any, **kwargs: Any) -> Any:
        async def inner(*a: Any, **k: Any) -> Any:
            with timers.part(f"pymap call {func.__name__} (on the loop)"):
                return await func(*a, **k)

        inner.__name__ = func.__name__
        with timers.part("pymap calls with the thread hop"):
            return run(inner, *args, **kwargs)

    channels.run = timed_run
    from adminpanel.pymap import service

    service.channels.run = timed_run  # type: ignore[attr-defined]


def _measure(client: Any, path: str, requests: int, timers: Timers) -> dict[str, float]:
    for _ in range(30):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    timers.seconds.clear()
    timers.counts.clear()
    walls = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path)
        walls.append(time.perf_counter() - started)
    per = {name: 1000 * s / requests for name, s in timers.seconds.items()}
    per["whole request (Django's handler)"] = 1000 * statistics.fmean(walls)
    per["whole request p50"] = 1000 * statistics.median(walls)
    for name, count in timers.counts.items():
        per[f"{name}: count"] = count / requests
    return per


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", type=int, default=20, help="functions listed per page")
    parser.add_argument(
        "--sort", default="tottime", help="cProfile's order: tottime (own) or cumulative"
    )
    parser.add_argument(
        "--callers", metavar="PATTERN", help="also list who calls the functions matching PATTERN"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="panel-profile-"))
    (tmp / "static").mkdir()
    _production_settings(tmp)
    name, password = f"prof-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with PymapProcess() as pymap:
        server = pymap.server()
        os.environ["PYMAP_ADMIN_PATH"] = str(pymap.socket_path)
        os.environ["PYMAP_ADMIN_NAME"] = "profile pymap"
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from adminpanel.pymap import service

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        service.set_user(server, pymap.admin_token, name, password=password, roles=["admin"])
        anonymous, signed_in = Client(), Client()
        signed_in.post(
            "/accounts/sign-in/", {"method": "password", "username": name, "password": password}
        )
        assert signed_in.get("/").status_code == 200
        timers = Timers()
        _instrument(timers)
        results: dict[str, dict[str, float]] = {}
        for page, path in PAGES.items():
            client = anonymous if page == "sign-in" else signed_in
            results[page] = _measure(client, path.format(name=name), args.requests, timers)
        _report(results)
        for page in ("sign-in", "user"):
            client = anonymous if page == "sign-in" else signed_in
            path = PAGES[page].format(name=name)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                client.get(path)
            profiler.disable()
            print(f"\n## cProfile, {page} page, {args.requests} requests ({args.sort})\n")
            stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort)
            stats.print_stats(args.profile)
            if args.callers:
                stats.print_callers(args.callers)
    return 0


def _report(results: dict[str, dict[str, float]]) -> None:
    parts = sorted({part for figures in results.values() for part in figures})
    pages = list(results)
    print("| ms per request | " + " | ".join(pages) + " |")
    print("| --- |" + " ---: |" * len(pages))
    for part in parts:
        cells = [f"{results[p].get(part, 0.0):.3f}" for p in pages]
        print(f"| {part} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
