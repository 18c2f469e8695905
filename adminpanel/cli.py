"""``pymap-adminpanel``: the one command an operator runs (docs/operations.md).

    pymap-adminpanel serve      the web panel under uvicorn (PANEL_HOST, PANEL_PORT,
                                PANEL_WORKERS, PANEL_PROXY_HEADERS, PANEL_FORWARDED_ALLOW_IPS)
    pymap-adminpanel worker     a task worker: imports and bulk runs (manage.py db_worker)
    pymap-adminpanel migrate    the database's migrations
    pymap-adminpanel check      check --deploy, the secret key, every pymap server answering
    pymap-adminpanel --version
    pymap-adminpanel COMMAND    any other manage.py command, e.g. prune_db_task_results

Everything else comes from the environment, as for the checkout
(docs/configuration.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from adminpanel.lib.env import env_bool, env_int, env_str
from adminpanel.lib.version import panel_version

PROG = "pymap-adminpanel"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
    import django

    django.setup()


def _manage(*args: str) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line([PROG, *args])
    return 0


def _serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"{PROG} serve", description="Serve the panel.")
    parser.add_argument("--host", default=env_str("PANEL_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=env_int("PANEL_PORT", 8000, minimum=1))
    parser.add_argument(
        "--workers",
        type=int,
        default=env_int("PANEL_WORKERS", 1, minimum=1),
        help="uvicorn worker processes (set PROMETHEUS_MULTIPROC_DIR for metrics from all)",
    )
    parser.add_argument(
        "--no-collectstatic",
        action="store_true",
        help="serve the static files collected before instead of collecting them now",
    )
    args = parser.parse_args(argv)
    _setup_django()
    import uvicorn
    from django.core.management import call_command

    if not args.no_collectstatic:
        # From the installed package into DJANGO_STATIC_ROOT: a new release's
        # files are in place before the first page names them.
        call_command("collectstatic", interactive=False, verbosity=0)
    uvicorn.run(
        "adminpanel.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        # X-Forwarded-For/-Proto from these proxies become the client address
        # and scheme; off by default (PANEL_CLIENT_IP_HEADER does the former).
        proxy_headers=env_bool("PANEL_PROXY_HEADERS", False),
        forwarded_allow_ips=env_str("PANEL_FORWARDED_ALLOW_IPS") or "127.0.0.1",
        # The panel logs each request itself (adminpanel/web/observe.py), in
        # the chosen format; uvicorn's own lines go through the same handler.
        access_log=False,
        log_config=None,
        server_header=False,
        lifespan="on",
    )
    return 0


def _check(argv: Sequence[str]) -> int:
    """check --deploy, then what Django cannot know: a real secret key, the
    database migrated, every configured pymap server answering."""
    if argv:
        print(f"{PROG} check takes no arguments", file=sys.stderr)
        return 2
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.db import DatabaseError

    from adminpanel.pymap import service
    from adminpanel.pymap.errors import PymapError
    from adminpanel.servers import current

    failed = False
    try:
        call_command("check", deploy=True, fail_level="WARNING")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        failed = True
    if settings.DEBUG:
        # Settings refuse to start without a key unless DEBUG, which makes a
        # random one each start: sessions and sealed tokens would not survive.
        print("secret key: DJANGO_DEBUG is on, so the key is a random one", file=sys.stderr)
        failed = True
    else:
        print("secret key: set")
    try:
        call_command("migrate", "--check", verbosity=0)
        print("database: migrated")
    except SystemExit:
        print(f"database: migrations not applied; run {PROG} migrate", file=sys.stderr)
        failed = True
    except DatabaseError as exc:
        print(f"database: does not answer ({type(exc).__name__})", file=sys.stderr)
        failed = True
    for server in current.all_servers():
        try:
            info = service.ping(server)
        except PymapError as exc:
            print(f"pymap server {server.name}: {exc}", file=sys.stderr)
            failed = True
        else:
            print(
                f"pymap server {server.name}: pymap {info.pymap_version}, "
                f"pymap-admin {info.pymap_admin_version}, {info.round_trip_ms:.0f} ms"
            )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(__doc__.split("\n\n")[1], end="\n\n")
        return 0 if args else 2
    if args[0] == "--version":
        print(f"{PROG} {panel_version()}")
        return 0
    from django.core.exceptions import ImproperlyConfigured

    command, rest = args[0], args[1:]
    try:
        if command == "serve":
            return _serve(rest)
        if command == "check":
            return _check(rest)
        _setup_django()
        return _manage("db_worker" if command == "worker" else command, *rest)
    except ImproperlyConfigured as exc:
        # A setting that cannot be used: say which, without a traceback.
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
