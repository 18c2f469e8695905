"""Uploads on a panel with a servers file, under uvicorn as production runs
it (issue 27).

With a servers file every URL starts with ``/s/<server>/``. The ASGI body
guard resolved that whole path, found no view, and so gave every upload the
2.5 MiB default: on any multi-server panel an mbox import or a CSV over
2.5 MiB got a 413 before the view ran. Django's test client never reaches the
guard, so these talk HTTP to the real server process, with a task worker, and
check what the second server kept over IMAP and with the reference CLI.

The session server (maildir) is ``[alpha]``; the second server, ``[pymap-admin]``
as ``pymap-admin save-args`` wrote it, runs redis: both production backends.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest

from adminpanel.lib.body_limits import DEFAULT_MAX_BODY_SIZE
from devtools.panel_client import PanelClient, Response
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

from .support.bulk import csv_bytes
from .support.mail import mbox_bytes, message
from .support.progress import finished
from .support.pymap_users import make_user, unique_name
from .support.raw_http import post_raw
from .support.servers import NEXT_BACKEND, SAVED, write_servers_file
from .support.stored import stored_user

pytestmark = pytest.mark.backends("maildir")

MiB = 1024 * 1024
BETA = f"/s/{SAVED}"


@pytest.fixture(scope="module")
def beta(pymap: PymapProcess) -> Iterator[PymapProcess]:
    with PymapProcess(backend=NEXT_BACKEND[pymap.backend], imap=True) as other:
        yield other


@pytest.fixture(scope="module")
def panel(
    pymap: PymapProcess, beta: PymapProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PanelProcess]:
    servers_file = write_servers_file(tmp_path_factory.mktemp("servers"), pymap, beta)
    env = {"PANEL_SERVERS_FILE": str(servers_file)}
    with PanelProcess(pymap.socket_path, task_worker=True, extra_env=env) as process:
        yield process


@pytest.fixture
def operator(panel: PanelProcess, beta: PymapProcess) -> PanelClient:
    """Signed in to the second server with a password (an admin-role user on
    redis may act on others)."""
    assert beta.backend == "redis"
    password = "operator password 27"
    user = make_user(beta.server(), beta.admin_token, unique_name("op"), password, ["admin"])
    client = PanelClient(panel.url + BETA)
    signed_in = client.sign_in(user.name, password)
    assert (signed_in.status, signed_in.headers["Location"]) == (302, f"{BETA}/"), signed_in.text
    return client


def located(reply: Response, prefix: str) -> str:
    assert reply.status == 302, reply.text[:3000]
    location = reply.headers["Location"]
    assert location.startswith(prefix), location
    return location


def test_an_8_mib_mbox_import_on_the_second_server_is_delivered_there(
    operator: PanelClient, beta: PymapProcess
) -> None:
    password = "mailbox owner 27"
    owner = make_user(beta.server(), beta.admin_token, unique_name("owner"), password)
    padding = b"x" * 76 + b"\r\n"
    body = padding * (128 * 1024 // len(padding))  # 128 KiB a message
    messages = [message(i, body=body, tag="asgi27") for i in range(66)]
    mbox = mbox_bytes(messages)
    assert len(mbox) > 8 * MiB > DEFAULT_MAX_BODY_SIZE
    fields = {"user": owner.name, "mailbox": "INBOX", "date_source": "header", "keywords": ""}
    fields["archive_flags"] = "on"
    started = operator.post_files("/mail/import/", fields, {"upload": ("big.mbox", mbox)})
    job_page = located(started, f"{BETA}/mail/import/")
    state = finished(operator, job_page.removeprefix(BETA) + "progress.json")
    assert (state["state"], state["delivered"]) == ("finished", len(messages)), state
    assert beta.imap_port is not None
    imap = imaplib.IMAP4("127.0.0.1", beta.imap_port)
    try:
        imap.login(owner.name, password)
        status, data = imap.select("INBOX", readonly=True)
        assert status == "OK"
        assert int(data[0] or b"0") == len(messages)
        status, found = imap.search(None, "HEADER", "Message-ID", "asgi27")
        assert status == "OK"
        assert len(found[0].split()) == len(messages)
    finally:
        imap.logout()


def test_a_3_mib_bulk_csv_on_the_second_server_creates_its_users_there(
    operator: PanelClient, beta: PymapProcess
) -> None:
    # 100 rows of eight 3,950-character params: over 3 MiB in 100 reads.
    names = [unique_name("bulk27") for _ in range(100)]
    params = {f"note{k}": chr(ord("a") + k) * 3950 for k in range(8)}
    packed = ";".join(f"{key}={value}" for key, value in params.items())
    data = csv_bytes([(name, "", "", packed, "create") for name in names])
    assert len(data) > 3 * MiB > DEFAULT_MAX_BODY_SIZE
    uploaded = operator.post_files("/bulk/", {}, {"upload": ("users.csv", data)})
    plan_page = located(uploaded, f"{BETA}/bulk/").removeprefix(BETA)
    # The worker reads the 100 users on the second server, then the plan is made.
    planned = finished(operator, plan_page + "progress.json", until="planned")
    assert planned["state"] == "planned", planned
    applied = operator.post(plan_page + "apply/", {})
    assert applied.status == 302, applied.text[:3000]
    counts = finished(operator, plan_page + "progress.json")["counts"]
    assert isinstance(counts, dict)
    assert counts["applied"] == len(names), counts
    assert all(n == 0 for state, n in counts.items() if state != "applied"), counts
    # What the second server kept, read with the reference CLI.
    for name in (names[0], names[-1]):
        kept = stored_user(beta, name)
        assert kept is not None, name
        assert kept.params == params
        assert kept.has_password


def test_an_anonymous_oversized_upload_is_still_refused_at_once(
    panel: PanelProcess,
) -> None:
    for path in (f"{BETA}/mail/import/", f"{BETA}/bulk/", "/s/alpha/mail/import/"):
        status, seconds, connection = post_raw(panel, path, 50 * MiB, MiB)
        with connection:
            assert status == 413, path
            assert seconds < 10


def test_an_unknown_servers_upload_gets_the_default_limit(panel: PanelProcess) -> None:
    """No server of that name: no view, so the default limit, then the 404."""
    status, _seconds, connection = post_raw(panel, "/s/nowhere/mail/import/", 4 * MiB, MiB)
    with connection:
        assert status == 413
    small = PanelClient(panel.url).request("POST", "/s/nowhere/mail/import/", {"x": "y"})
    assert small.status == 404
