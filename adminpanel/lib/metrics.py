"""The panel's Prometheus metrics (prometheus-client), defined once.

Every process (each uvicorn worker, each task worker) counts into these. With
``PROMETHEUS_MULTIPROC_DIR`` set (before this module is first imported, as
prometheus-client requires) they write to files in that directory, and the
metrics endpoint of any web process adds up all processes of the machine
(adminpanel/web/metrics.py). What the database knows (imports and bulk runs
by state, the task queue's age) is read at scrape time instead.

Label values are names the panel chose (views, RPC methods, outcomes) or the
configured server names; never a user name, an address or a token.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: Latency buckets (seconds) for page views and RPCs: a few ms up to the
#: default admin-call timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "panel_http_requests",
    "Requests answered, by view (URL name), method and HTTP status.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "panel_http_request_duration_seconds",
    "Time from the request reaching the panel to its response, by view.",
    ["view"],
    buckets=LATENCY_BUCKETS,
)
RPCS = Counter(
    "panel_pymap_rpcs",
    "Admin calls to pymap, by server, method and gRPC status (OK or the error's).",
    ["server", "method", "code"],
)
RPC_LATENCY = Histogram(
    "panel_pymap_rpc_duration_seconds",
    "Duration of admin calls to pymap, by server and method.",
    ["server", "method"],
    buckets=LATENCY_BUCKETS,
)
SIGN_INS = Counter(
    "panel_sign_ins",
    "Sign-in attempts by result: succeeded, refused, throttled, second_factor_failed.",
    ["result"],
)
MESSAGES_APPENDED = Counter(
    "panel_messages_appended",
    "Messages imports delivered into pymap, by server.",
    ["server"],
)
