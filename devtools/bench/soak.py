"""Load and soak: simulated operators against the panel under uvicorn.

Run by hand: ``.venv/bin/python -m devtools.bench.soak [--operators 16] [--seconds 120]``.
Each operator signs in (a user with the admin role of its own) and, until
the time is up, picks at random: a read (dashboard, its target user's page),
an edit (that user's params, keeping the password, through the edit form's
entity tag) or a delivery (deliver form, preview, confirm) of a message with
a unique Message-ID into its target user's INBOX. Afterwards every delivery
the panel accepted is looked for over IMAP, and the panel's memory samples
are compared. Zero errors, zero lost deliveries and flat memory pass.
"""

from __future__ import annotations

import argparse
import imaplib
import random
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from adminpanel.pymap import service
from devtools.html_forms import forms_in
from devtools.local_processes import LOCALHOST
from devtools.panel_client import PanelClient, Response
from devtools.panel_process import PanelProcess
from devtools.pymap_process import PymapProcess

UID_PATTERN = re.compile(r"<dt>UID</dt><dd>(\d+)</dd>")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    delivered: dict[str, list[str]] = field(default_factory=dict)  # user -> Message-IDs

    def count(self, action: str) -> None:
        with self.lock:
            self.actions[action] += 1

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


@dataclass(frozen=True)
class Operator:
    name: str
    password: str
    target: str
    target_password: str


def _expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        alerts = re.findall(r'class="field-error"[^>]*>(.*?)</div', response.text, re.S)
        alerts += re.findall(r'role="alert"[^>]*>(.*?)</', response.text, re.S)
        detail = "; ".join(" ".join(a.split()) for a in alerts)[:300]
        raise AssertionError(f"{what}: HTTP {response.status} {detail}")
    return response


def _read(client: PanelClient, op: Operator) -> None:
    _expect(client.get("/"), 200, "dashboard")
    _expect(client.get(f"/users/user/?name={quote(op.target)}"), 200, "user page")


def _edit(client: PanelClient, op: Operator) -> None:
    path = f"/users/edit/?name={quote(op.target)}"
    page = _expect(client.get(path), 200, "edit form")
    form = next(f for f in forms_in(page.text, client.base_url + path) if "entity_tag" in f.fields)
    data = form.defaults()
    data.update(
        {
            "password_action": "keep",
            "current_password": op.target_password,
            "params-0-key": "soak",
            "params-0-value": secrets.token_hex(4),
        }
    )
    reply = client.request("POST", path, data)
    _expect(reply, 302, "edit save")


def _deliver(client: PanelClient, op: Operator, tally: Tally) -> None:
    message_id = f"<soak-{secrets.token_hex(8)}@panel.test>"
    text = (
        f"From: soak@panel.test\r\nTo: {op.target}@panel.test\r\nSubject: soak\r\n"
        f"Message-ID: {message_id}\r\n\r\nLoad test message.\r\n"
    )
    page = _expect(client.get("/mail/deliver/"), 200, "deliver form")
    form = next(f for f in forms_in(page.text, client.base_url) if "message_text" in f.fields)
    data = {
        **form.defaults(),
        "user": op.target,
        "mailbox": "INBOX",
        "source": "raw",
        "message_text": text,
    }
    _expect(client.request("POST", "/mail/deliver/", data), 302, "deliver")
    preview = _expect(client.get("/mail/deliver/preview/"), 200, "preview")
    confirm = next(
        f for f in forms_in(preview.text, client.base_url) if f.action.endswith("/confirm/")
    )
    _expect(client.request("POST", "/mail/deliver/confirm/", confirm.defaults()), 302, "confirm")
    result = _expect(client.get("/mail/deliver/result/"), 200, "result")
    if UID_PATTERN.search(result.text) is None:
        raise AssertionError("result page shows no UID")
    with tally.lock:
        tally.delivered.setdefault(op.target, []).append(message_id)


def _operate(base_url: str, op: Operator, deadline: float, tally: Tally) -> None:
    client = PanelClient(base_url)
    client.get("/accounts/sign-in/")
    if client.sign_in(op.name, op.password).status != 302:
        tally.error(f"{op.name}: sign-in failed")
        return
    rng = random.Random(op.name)  # noqa: S311 (load mix, not security)
    while time.monotonic() < deadline:
        action = rng.choices(["read", "edit", "deliver"], weights=[5, 2, 3])[0]
        try:
            if action == "read":
                _read(client, op)
            elif action == "edit":
                _edit(client, op)
            else:
                _deliver(client, op, tally)
        except Exception as exc:  # noqa: BLE001 (every failure is a finding)
            tally.error(f"{op.name} {action}: {exc}")
        else:
            tally.count(action)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _missing_over_imap(port: int, op: Operator, message_ids: list[str]) -> list[str]:
    client = imaplib.IMAP4(LOCALHOST, port, timeout=30)
    try:
        client.login(op.target, op.target_password)
        client.select("INBOX", readonly=True)
        _, data = client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        seen = b"".join(part[1] for part in data if isinstance(part, tuple)).decode()
        return [mid for mid in message_ids if mid not in seen]
    finally:
        client.logout()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operators", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    tally = Tally()
    with PymapProcess(imap=True) as pymap:
        assert pymap.imap_port is not None
        operators = []
        for index in range(args.operators):
            op = Operator(
                f"soak-op{index}-{secrets.token_hex(3)}", secrets.token_urlsafe(12),
                f"soak-user{index}-{secrets.token_hex(3)}", secrets.token_urlsafe(12),
            )  # fmt: skip
            service.set_user(pymap.server(), pymap.admin_token, op.name,
                             password=op.password, roles=["admin"])  # fmt: skip
            service.set_user(pymap.server(), pymap.admin_token, op.target,
                             password=op.target_password)  # fmt: skip
            operators.append(op)
        extra = {"PANEL_SIGN_IN_LIMIT_PER_ADDRESS": "1000"}
        with PanelProcess(
            pymap.socket_path, database_url=args.database_url, extra_env=extra
        ) as panel:
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=_operate, args=(panel.url, op, deadline, tally))
                for op in operators
            ]
            for thread in threads:
                thread.start()
            samples = []
            while any(t.is_alive() for t in threads):
                samples.append(_rss_mb(panel.pid))
                time.sleep(5)
            for thread in threads:
                thread.join()
        lost = {
            op.target: missing
            for op in operators
            if (
                missing := _missing_over_imap(
                    pymap.imap_port, op, tally.delivered.get(op.target, [])
                )
            )
        }
    accepted = sum(len(ids) for ids in tally.delivered.values())
    print(f"operators: {args.operators}, seconds: {args.seconds:g}")
    print(f"actions: {dict(tally.actions)} ({sum(tally.actions.values()) / args.seconds:.1f}/s)")
    print(f"errors: {len(tally.errors)}")
    for error in tally.errors[:20]:
        print(f"  {error}")
    print(f"deliveries accepted: {accepted}, missing over IMAP: {sum(map(len, lost.values()))}")
    # The first quarter is warm-up (imports, caches, connections); memory is
    # stable when the last quarter's peak is close to the second quarter's.
    quarter = max(1, len(samples) // 4)
    warm, last = samples[quarter : 2 * quarter] or samples, samples[-quarter:]
    print(
        f"panel RSS MB: start {samples[0]:.0f}, second quarter max {max(warm):.0f}, "
        f"last quarter max {max(last):.0f}, peak {max(samples):.0f}"
    )
    growth = max(last) - max(warm)
    stable = growth < 0.1 * max(warm) + 5
    verdict = "stable" if stable else "GROWING"
    print(f"memory growth from second to last quarter: {growth:+.1f} MB ({verdict})")
    return 0 if not tally.errors and not lost and stable else 1


if __name__ == "__main__":
    sys.exit(main())
