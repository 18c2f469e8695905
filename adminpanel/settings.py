"""Settings for the pymap admin panel, read from the environment.

Defaults are the safe ones: DEBUG off, no secret key unless given, cookies
marked Secure. See the README for every variable.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from adminpanel.lib.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_secret_list,
    env_str,
)
from adminpanel.lib.hosts import first_host_name
from adminpanel.lib.resources import CHECKOUT_DIR, data_dir, installed
from adminpanel.pymap.servers import server_from_env
from adminpanel.pymap.servers_file import ServersFileError
from adminpanel.pymap.servers_file import load as load_servers_file

# What the panel writes (the SQLite database, the mail spool, collected static
# files) by default: PANEL_STATE_DIR, else systemd's StateDirectory, else var/
# in a checkout (ignored by git) or in the working directory of an installed one.
_state_default = env_str("STATE_DIRECTORY").split(":")[0]
STATE_DIR = Path(
    env_str("PANEL_STATE_DIR")
    or _state_default
    or (Path.cwd() / "var" if installed() else CHECKOUT_DIR / "var")
)

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set unless DJANGO_DEBUG is on."
        )
    # Development only: a fresh random key each start, never a fixed one.
    from django.core.management.utils import get_random_secret_key

    SECRET_KEY = get_random_secret_key()
# Rotation: the new key in DJANGO_SECRET_KEY, the old ones here until nothing
# made with them is needed (sessions, sealed tokens, authenticator apps'
# secrets still open with them: docs/operations.md, "Rotating the secret key").
SECRET_KEY_FALLBACKS = env_secret_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "adminpanel.accounts",
    "adminpanel.dashboard",
    "adminpanel.audit",
    "adminpanel.servers",
    "adminpanel.users",
    "adminpanel.preferences",
    "adminpanel.twofactor",
    "django_tasks",
    "django_tasks_db",
    "adminpanel.mail",
    "adminpanel.tokens",
    "adminpanel.bulk",
    "adminpanel.mailboxes",
    "adminpanel.filters",
]

MIDDLEWARE = [
    # First: the request id, the request's log line and metrics cover everything
    # after it (adminpanel/web/observe.py); no database query.
    "adminpanel.web.observe.RequestObservingMiddleware",
    # Health probes and the metrics scrape, answered before the HTTPS redirect,
    # the host check, sessions and the sign-in requirement (adminpanel/web/probes.py).
    "adminpanel.web.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Header middleware sits before WhiteNoise, which answers static files
    # without calling what follows it.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files may be cached), before everything that
    # renders a page or an error: nothing else is ever stored.
    "adminpanel.web.no_store.NoStoreMiddleware",
    # /s/<server>/...: the request's server, before anything resolves the URL.
    "adminpanel.servers.middleware.ServerPrefixMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the body: an oversized request gets 413 unread.
    "adminpanel.web.request_limits.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "adminpanel.accounts.middleware.OperatorSessionMiddleware",
    # After the operator is known: one who must enrol a second factor reaches
    # only the enrolment pages (adminpanel/twofactor/gate.py).
    "adminpanel.twofactor.gate.EnrolmentGateMiddleware",
    "adminpanel.preferences.zones.TimeZoneMiddleware",
    "adminpanel.web.errors.PymapErrorMiddleware",
]

ROOT_URLCONF = "adminpanel.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [data_dir("templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "adminpanel.accounts.context_processors.operator",
            ],
            "libraries": {"display": "adminpanel.lib.display"},
            # {% url %} with its answers kept (adminpanel/lib/url_tag.py).
            "builtins": ["adminpanel.lib.url_tag"],
        },
    },
]

ASGI_APPLICATION = "adminpanel.asgi.application"
WSGI_APPLICATION = "adminpanel.wsgi.application"

_database_url = env_str("DATABASE_URL")
if not _database_url:
    # The embedded default: one SQLite file in the state directory.
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    _database_url = f"sqlite:///{STATE_DIR / 'adminpanel.sqlite3'}"
# Connections stay open between requests: each request runs on a reused thread
# (adminpanel/web/request_threads.py), so it finds its thread's connection open
# instead of opening one; health checks replace one the database dropped.
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
_pool_size = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _pool_size:
    # PostgreSQL: a bounded pool per process (psycopg_pool, through Django)
    # instead of a connection per request thread, so that a burst of requests
    # waits for a connection rather than exceeding the server's
    # max_connections. Django hands the connection back at the end of each
    # request, which a pool requires (CONN_MAX_AGE 0).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": _pool_size,
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process reads import progress while task workers write it: WAL
    # lets readers and one writer work at once, IMMEDIATE transactions wait
    # for the write lock instead of failing on "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
#: Idle request threads an ASGI process keeps (with SQLite, each with its open
#: database connection; adminpanel/web/request_threads.py); more are made when busy.
PANEL_IDLE_REQUEST_THREADS = env_int("PANEL_IDLE_REQUEST_THREADS", 16, minimum=1)

# --- running it: request ids, probes, metrics (docs/operations.md) ---------------
#: The header a proxy's request id arrives in and the response carries it back.
PANEL_REQUEST_ID_HEADER = env_str("PANEL_REQUEST_ID_HEADER") or "X-Request-ID"
if not re.fullmatch(r"[A-Za-z0-9-]+", PANEL_REQUEST_ID_HEADER):
    raise ImproperlyConfigured("PANEL_REQUEST_ID_HEADER must be a header name, e.g. X-Request-ID")
#: The bearer token /metrics asks for; without one, /metrics is off (404).
PANEL_METRICS_TOKEN = env_secret("PANEL_METRICS_TOKEN")
#: How long /health/ready waits for each pymap server's health answer.
PANEL_READY_TIMEOUT = env_float("PANEL_READY_TIMEOUT", 2.0, minimum=0.1)

# --- the pymap admin service -----------------------------------------------
PYMAP_SERVER = server_from_env()
#: Longest life of a token issued on the Tokens page (docs/tokens.md): 30 days.
PANEL_TOKEN_MAX_SECONDS = env_int("PANEL_TOKEN_MAX_SECONDS", 30 * 86400, minimum=1)
#: An INI file in pymap-admin.conf's format naming several servers (docs/servers.md).
#: Without it, the PYMAP_ADMIN_* variables define the one server (PYMAP_SERVER).
PANEL_SERVERS_FILE = env_str("PANEL_SERVERS_FILE")
try:
    PANEL_SERVERS = (
        load_servers_file(Path(PANEL_SERVERS_FILE).expanduser()) if PANEL_SERVERS_FILE else ()
    )
except ServersFileError as exc:
    raise ImproperlyConfigured(f"PANEL_SERVERS_FILE: {exc}") from exc

# --- mail delivery and import (adminpanel/mail) ---------------------------------
#: Largest message the panel delivers, from the form or inside an import.
PANEL_MAX_MESSAGE_BYTES = env_int("PANEL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=1024)
#: Largest import upload (all files of one request; a .gz also uncompressed).
PANEL_MAX_IMPORT_BYTES = env_int("PANEL_MAX_IMPORT_BYTES", 1024 * 1024 * 1024, minimum=1024)
#: A .gz upload that expands more than this many times is refused as soon as
#: that shows (mail compresses 2 to 10 times; a compression bomb 1,000).
PANEL_MAX_GZIP_RATIO = env_int("PANEL_MAX_GZIP_RATIO", 100, minimum=2)
#: Appends an import keeps in flight at once over its one channel.
PANEL_IMPORT_CONCURRENCY = env_int("PANEL_IMPORT_CONCURRENCY", 8, minimum=1)
#: Where uploads, pending deliveries and import files live; the web process
#: and the task workers must see the same directory.
PANEL_MAIL_SPOOL_DIR = Path(env_str("PANEL_MAIL_SPOOL_DIR") or STATE_DIR / "mail")

# --- many users at once (adminpanel/bulk, docs/bulk.md) --------------------------
#: Largest CSV upload, and most rows in one.
PANEL_BULK_MAX_BYTES = env_int("PANEL_BULK_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
PANEL_BULK_MAX_ROWS = env_int("PANEL_BULK_MAX_ROWS", 5000, minimum=1)
#: GetUser (planning) and row writes (applying) in flight at once.
PANEL_BULK_CONCURRENCY = env_int("PANEL_BULK_CONCURRENCY", 8, minimum=1)
#: How long the generated passwords' file may be downloaded (once).
PANEL_BULK_RESULT_SECONDS = env_int("PANEL_BULK_RESULT_SECONDS", 3600, minimum=60)

# Background jobs (mailbox imports): django-tasks with its database backend;
# run workers with `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Uploads: files over 1 MiB stream to disk under the spool directory (so an
# import moves them into place with a rename); form fields may hold one
# message typed into the deliver form (multipart, so not inflated by
# percent-encoding). adminpanel.web.request_limits answers 413 for a body larger
# than its view allows before any of it is parsed (under ASGI before Django
# reads it: adminpanel.web.asgi_body_guard).
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(PANEL_MAIL_SPOOL_DIR / "uploads")
DATA_UPLOAD_MAX_MEMORY_SIZE = PANEL_MAX_MESSAGE_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("PANEL_MAX_IMPORT_FILES", 1000, minimum=1)
#: A request body must arrive within this many seconds plus its size at the
#: rate below, or the request is cut off (408): a client that announces a body
#: and sends nothing cannot hold a connection open.
PANEL_REQUEST_BODY_SECONDS = env_int("PANEL_REQUEST_BODY_SECONDS", 30, minimum=1)
PANEL_REQUEST_BODY_MIN_RATE = env_int("PANEL_REQUEST_BODY_MIN_RATE", 64 * 1024, minimum=1)

# --- sessions: server-side only, never signed cookies ------------------------
# Django's database store, read with one prepared statement (accounts/session_store.py).
SESSION_ENGINE = "adminpanel.accounts.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
# Over HTTPS the cookies carry the __Host- prefix: browsers then accept them
# only when Secure, for path / and without a Domain, so no other host of the
# domain and no plain-HTTP page can set or shadow them. The panel sets no
# cookie path or domain (it is served at the root); without Secure cookies
# (plain HTTP on loopback) a browser would drop prefixed ones.
_COOKIE_PREFIX = "__Host-" if SESSION_COOKIE_SECURE else ""
SESSION_COOKIE_NAME = f"{_COOKIE_PREFIX}pymap_panel_session"
CSRF_COOKIE_NAME = f"{_COOKIE_PREFIX}csrftoken"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
#: Sign-out after this many seconds without a request.
PANEL_SESSION_IDLE_SECONDS = env_int("PANEL_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
#: How long the operator's own password, given for a user's mail or filters,
#: stays usable (sealed in the session; docs/mail.md "Mailboxes and filters").
PANEL_MAIL_ACCESS_SECONDS = env_int("PANEL_MAIL_ACCESS_SECONDS", 600, minimum=30, maximum=86400)
#: Sign-out this many seconds after sign-in, whatever the activity; the
#: session's macaroon carries the same limit as a `time <` caveat.
PANEL_SESSION_ABSOLUTE_SECONDS = env_int("PANEL_SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=60)
SESSION_COOKIE_AGE = PANEL_SESSION_ABSOLUTE_SECONDS

# --- sign-in throttling (see adminpanel/accounts/throttle.py) -------------------
#: Failed sign-ins allowed in the window per user name from one address, per
#: user name from anywhere (the ceiling), and per client address.
PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS = env_int(
    "PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS", 10, minimum=1
)
PANEL_SIGN_IN_LIMIT_PER_USER = env_int("PANEL_SIGN_IN_LIMIT_PER_USER", 100, minimum=1)
PANEL_SIGN_IN_LIMIT_PER_ADDRESS = env_int("PANEL_SIGN_IN_LIMIT_PER_ADDRESS", 50, minimum=1)
PANEL_SIGN_IN_WINDOW_SECONDS = env_int("PANEL_SIGN_IN_WINDOW_SECONDS", 15 * 60, minimum=1)
#: Every refused sign-in answers no sooner than this many milliseconds after it
#: began, so its time does not tell an unknown user name (pymap sleeps 300 ms)
#: from a wrong password (a few ms, or ~150-200 ms at pymap's own hash cost).
PANEL_SIGN_IN_REFUSAL_MS = env_int("PANEL_SIGN_IN_REFUSAL_MS", 400, minimum=0, maximum=10_000)

# --- a second factor for operators (adminpanel/twofactor, docs/twofactor.md) -----
#: Who must have a second factor: nobody (off), operators who may act on other
#: users (admins: the admin token, or the admin role where it has rights), everyone.
PANEL_REQUIRE_SECOND_FACTOR = env_choice(
    "PANEL_REQUIRE_SECOND_FACTOR", "off", ("off", "admins", "everyone")
)
#: Whether the server's admin token may sign in to the panel at all.
PANEL_ALLOW_ADMIN_TOKEN_SIGN_IN = env_bool("PANEL_ALLOW_ADMIN_TOKEN_SIGN_IN", True)
#: How long a sign-in that pymap accepted waits for its second factor.
PANEL_SECOND_FACTOR_SECONDS = env_int("PANEL_SECOND_FACTOR_SECONDS", 5 * 60, minimum=30)
#: Wrong second factors allowed per pending sign-in (then it ends: the password
#: again), and wrong codes per identity and server in 24 hours (then 429), kept
#: apart from the sign-in limits (adminpanel/twofactor/throttle.py).
PANEL_SECOND_FACTOR_TRIES = env_int("PANEL_SECOND_FACTOR_TRIES", 5, minimum=1)
PANEL_SECOND_FACTOR_CODES_PER_DAY = env_int("PANEL_SECOND_FACTOR_CODES_PER_DAY", 10, minimum=1)
#: scrypt's cost for new recovery codes, as a power of two (14: n = 16,384,
#: about 50 ms a code here; at most 16, where ten codes take over 2 s); each
#: code keeps the cost it was made with.
PANEL_RECOVERY_CODE_COST = env_int("PANEL_RECOVERY_CODE_COST", 14, minimum=10, maximum=16)
#: The WebAuthn relying-party ID passkeys are bound to: a host name, never an
#: IP address (default: the first host name in DJANGO_ALLOWED_HOSTS).
PANEL_WEBAUTHN_RP_ID = env_str("PANEL_WEBAUTHN_RP_ID") or first_host_name(ALLOWED_HOSTS)

# --- user pages ------------------------------------------------------------------
#: Shortest password the panel sets (no composition rules; the maximum is 1024).
PANEL_PASSWORD_MIN_LENGTH = env_int("PANEL_PASSWORD_MIN_LENGTH", 8, minimum=1)

# --- client address behind a reverse proxy (see adminpanel/lib/client_address.py) --
PANEL_CLIENT_IP_HEADER = env_str("PANEL_CLIENT_IP_HEADER")
PANEL_TRUSTED_PROXIES = env_int("PANEL_TRUSTED_PROXIES", 1, minimum=1)

# --- security headers ----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
# The preload directive is only acted on for a registered domain whose owner
# submits it to the browsers' list; on the panel's host name it is inert, and
# it keeps `check --deploy` free of warnings.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", not DEBUG)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Served by django-csp on every response, static files and error pages included.
# Everything from the panel's own origin, nothing inline: no script or style
# attribute or element in any template, so no 'unsafe-inline' and no nonces.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
_proxy_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")

# --- static files: served by WhiteNoise, no separate web server needed --------
# Absolute: pages under /s/<server>/ set the script prefix to that, which a
# relative STATIC_URL would take on (servers/middleware.py).
STATIC_URL = "/static/"
STATICFILES_DIRS = [data_dir("static")]
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = data_dir("public")
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or STATE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PANEL_TIME_ZONE") or "UTC"
USE_I18N = False
USE_TZ = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- logging: to stderr; never request bodies, SQL parameters or gRPC headers ----
# Nothing in the panel logs a request body. These libraries would at DEBUG:
# SQL parameters carry session data (the operator's token), hpack/h2 log the
# HTTP/2 headers that carry pymap's auth-token. They stay at INFO whatever
# PANEL_LOG_LEVEL says, and every line still passes the redacting formatter.
_QUIET_AT_DEBUG = ("django.db.backends", "hpack", "h2", "grpclib")
#: plain (the default) or json: one JSON object a line (adminpanel/lib/json_logs.py).
PANEL_LOG_FORMAT = env_choice("PANEL_LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "adminpanel.lib.json_logs.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "()": "adminpanel.lib.redaction.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "adminpanel.lib.json_logs.JsonFormatter"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": PANEL_LOG_FORMAT,
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["stderr"], "level": env_str("PANEL_LOG_LEVEL") or "INFO"},
    "loggers": {name: {"level": "INFO"} for name in _QUIET_AT_DEBUG},
}
# Python's warnings become log records too, so that in JSON mode every line
# of stderr is one object.
logging.captureWarnings(True)
# Error reports (DEBUG page, mailed reports) hide tokens, passwords and hashes.
DEFAULT_EXCEPTION_REPORTER_FILTER = "adminpanel.lib.redaction.PanelExceptionReporterFilter"

CSRF_FAILURE_VIEW = "adminpanel.web.errors.csrf_failure"
