"""The audit page: newest first, filters, pages, CSV/JSON export, who sees
what, and no way to change a record (ASVS 7.1, 7.3.3, 7.3.4)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.test import AsyncClient, Client

from adminpanel.accounts.identity import Identity, IdentityKind
from adminpanel.audit.models import Action, AuditEvent, ImmutableRecord
from adminpanel.lib.spreadsheet import csv_safe
from adminpanel.pymap.servers import PymapServer

from .support.panel_client import sign_in
from .support.pymap_users import MakeUser, PymapUser
from .support.users import signed_in_admin

pytestmark = pytest.mark.django_db

AUDIT = "/audit/"


def event(operator: str | Identity, action: Action = Action.USER_EDIT, **fields: Any) -> AuditEvent:
    """An event by ``operator``: an identity, or a user signed in as themselves."""
    identity = operator if isinstance(operator, Identity) else Identity(IdentityKind.USER, operator)
    created_at = fields.pop("created_at", None)
    made = AuditEvent.objects.create(
        operator=identity.label,
        identity_kind=identity.kind,
        identity_name=identity.name,
        identity_act_as=identity.act_as,
        action=action,
        server=fields.pop("server", settings.PYMAP_SERVER.name),
        outcome=fields.pop("outcome", "ok"),
        **fields,
    )
    if created_at is not None:
        # The model refuses updates; tests backdate through the base QuerySet.
        QuerySet.update(AuditEvent.objects.filter(pk=made.pk), created_at=created_at)
    return made


def rows(response: Any) -> list[list[str]]:
    """The table's rows as cell texts (crudely, enough for these tests)."""
    html = response.content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    found = []
    for row in body.split("<tr>")[1:]:
        cells = [cell.split("</td>", 1)[0] for cell in re.split(r"<td[^>]*>", row)[1:]]
        found.append([re.sub(r"<[^>]+>", "", cell) for cell in cells])  # links' text
    return found


@pytest.fixture
def admin(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> str:
    """An operator who sees every event (its sign-in is one); the name the
    audit log gives it."""
    return signed_in_admin(client, pymap_user, through_form=True)


@pytest.fixture
def ordinary(client: Client, pymap_server: PymapServer, pymap_user: MakeUser) -> PymapUser:
    user = pymap_user(prefix="plain")
    sign_in(client, user)
    return user


def streamed(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue().decode()


def test_admin_sees_every_event_newest_first(client: Client, admin: str) -> None:
    event("alice", target="t-old", created_at=datetime.now(UTC) - timedelta(days=2))
    event("bob", target="t-new")
    response = client.get(AUDIT)
    assert response.status_code == 200
    targets = [row[3] for row in rows(response)]
    # bob's edit, then the admin's own sign-in (no target), then alice's.
    assert targets[0] == "t-new"
    assert targets[-1] == "t-old"
    assert "Every operator" in response.content.decode()


def test_others_see_only_their_own_actions(client: Client, ordinary: PymapUser) -> None:
    event("alice", target="not-mine")
    event(ordinary.name, target="mine")
    event(Identity(IdentityKind.USER, "someone", ordinary.name), target="as-me-by-someone")
    event(f"x{ordinary.name}", target="lookalike")
    response = client.get(AUDIT)
    targets = {row[3] for row in rows(response)}
    assert targets == {"mine", "—"}  # "—": the operator's own sign-in
    assert "Your own actions" in response.content.decode()
    exported = streamed(client.get(AUDIT + "export.json"))
    assert {e["target"] for e in json.loads(exported)} == {"mine", ""}


def test_filters_combine(client: Client, admin: str) -> None:
    now = datetime.now(UTC)
    event("alice", Action.USER_EDIT, target="carol", outcome="ok")
    event("alice", Action.USER_DELETE, target="carol", outcome="UserNotFound")
    event("bob", Action.USER_EDIT, target="carol", outcome="ok")
    event("alice", Action.USER_EDIT, target="dave", outcome="ok")
    event("alice", Action.USER_EDIT, target="carol", created_at=now - timedelta(days=10))
    checks = {
        "operator=ALI&target=carol": 3,
        "operator=alice&action=user-edit&target=carol": 2,
        "outcome=usernotfound": 1,
        f"since={(now - timedelta(days=11)).date()}&until={(now - timedelta(days=9)).date()}": 1,
        f"since={now.date()}&target=carol": 3,
    }
    for query, expected in checks.items():
        response = client.get(f"{AUDIT}?{query}")
        assert response.status_code == 200
        assert len(rows(response)) == expected, query


def test_invalid_filters_are_explained(client: Client, admin: str) -> None:
    response = client.get(AUDIT, {"since": "2026-05-02", "until": "2026-05-01", "action": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "end date is before the start date" in html
    assert "Select a valid choice" in html
    export = client.get(AUDIT + "export.csv", {"since": "yesterday"})
    assert export.status_code == 400


def test_pages_hold_fifty_and_keep_the_filters(client: Client, admin: str) -> None:
    for number in range(120):
        event("bulk", target=f"user{number:03}")
    first = client.get(AUDIT, {"operator": "bulk"})
    assert len(rows(first)) == 50
    assert [row[3] for row in rows(first)][:2] == ["user119", "user118"]
    html = first.content.decode()
    assert "Page 1 of 3" in html
    assert 'href="?operator=bulk&amp;page=2"' in html
    last = client.get(AUDIT, {"operator": "bulk", "page": "3"})
    assert [row[3] for row in rows(last)][-1] == "user000"
    assert len(rows(last)) == 20
    # Out-of-range and nonsense page numbers still give a page.
    assert client.get(AUDIT, {"operator": "bulk", "page": "999"}).status_code == 200
    assert client.get(AUDIT, {"operator": "bulk", "page": "x"}).status_code == 200


def test_csv_export_has_every_matching_event_and_no_formulas(client: Client, admin: str) -> None:
    for number in range(60):
        event("bulk", target=f"user{number:03}")
    event('=HYPERLINK("http://evil.example")', target="+1+1", detail="@SUM(A1)")
    event("mallory", target="-2", changed_fields=["=cmd"])
    response = client.get(AUDIT + "export.csv", {"operator": "bulk"})
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(streamed(response))))
    assert table[0][:3] == ["id", "created_at", "operator"]
    assert len(table) == 61
    hostile = list(csv.reader(io.StringIO(streamed(client.get(AUDIT + "export.csv")))))
    cells = [cell for row in hostile[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert {"'+1+1", "'@SUM(A1)", "'-2", "'=cmd"} <= set(cells)


def test_csv_safe_quotes_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_safe(start + "x") == "'" + start + "x"
    assert csv_safe("alice") == "alice"
    assert csv_safe("") == ""


def test_json_export_uses_the_same_filters(client: Client, admin: str) -> None:
    event("alice", Action.USER_DELETE, target="carol", changed_fields=["roles"])
    event("alice", Action.USER_EDIT, target="carol")
    response = client.get(AUDIT + "export.json", {"action": "user-delete"})
    assert response["Content-Type"] == "application/json"
    data = json.loads(streamed(response))
    assert len(data) == 1
    assert data[0]["operator"] == "alice"
    assert data[0]["changed_fields"] == ["roles"]
    assert set(data[0]) >= {"created_at", "client_address", "server", "outcome", "detail"}
    empty = json.loads(streamed(client.get(AUDIT + "export.json", {"operator": "nobody"})))
    assert empty == []


def test_export_streams_asynchronously_under_asgi(client: Client, admin: str) -> None:
    for number in range(1100):  # more than two batches
        event("bulk", target=f"user{number}")
    cookie = client.cookies["pymap_panel_session"].value

    async def fetch() -> tuple[bool, str]:
        asgi = AsyncClient()
        asgi.cookies["pymap_panel_session"] = cookie
        response = await asgi.get(AUDIT + "export.json", {"operator": "bulk"})
        assert isinstance(response, StreamingHttpResponse)
        content = response.streaming_content
        assert isinstance(content, AsyncIterator)
        chunks = [chunk async for chunk in content]
        return response.is_async, b"".join(chunks).decode()

    is_async, body = async_to_sync(fetch)()
    assert is_async
    assert len(json.loads(body)) == 1100


def test_hostile_values_are_shown_escaped(client: Client, admin: str) -> None:
    event("<script>alert(1)</script>", target='<svg onload="alert(1)">')
    html = client.get(AUDIT).content.decode()
    assert "<script>alert(1)" not in html
    assert "<svg onload" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_records_cannot_be_changed_or_deleted(client: Client, admin: str) -> None:
    record = event("alice")
    for url in (AUDIT, AUDIT + "export.csv", AUDIT + "export.json"):
        assert client.post(url, {"id": record.pk, "operator": "mallory"}).status_code == 405
    record.operator = "mallory"
    with pytest.raises(ImmutableRecord):
        record.save()
    with pytest.raises(ImmutableRecord):
        record.delete()
    with pytest.raises(ImmutableRecord):
        AuditEvent.objects.filter(pk=record.pk).update(operator="mallory")
    with pytest.raises(ImmutableRecord):
        AuditEvent.objects.filter(pk=record.pk).delete()
    assert AuditEvent.objects.get(pk=record.pk).operator == "alice"


def test_the_navigation_links_to_the_audit_page(client: Client, ordinary: PymapUser) -> None:
    html = client.get(AUDIT).content.decode()
    assert '<a href="/audit/" aria-current="page">Audit</a>' in html
    assert 'for="id_operator"' in html
    assert 'for="id_since"' in html


# --- the table: links, columns, the outcome list, times --------------------------------


def test_targets_link_to_their_user_or_import(client: Client, admin: str) -> None:
    event("alice", Action.USER_EDIT, target="a/b%c")
    event("alice", Action.MAILBOX_IMPORT, target="carol/INBOX", detail="import 42 queued: x.mbox")
    event("alice", Action.MAILBOX_IMPORT, target="carol/INBOX", outcome="UserNotFound")
    html = client.get(AUDIT).content.decode()
    assert '<a href="/users/user/?name=a%2Fb%25c">a/b%c</a>' in html
    assert '<a href="/mail/import/42/">carol/INBOX</a>' in html
    assert '<td data-prefix="on">carol/INBOX</td>' in html  # no import to link to


def test_the_log_is_the_servers_own(client: Client, admin: str, pymap_server: PymapServer) -> None:
    event("from-here", target="here-target")
    event("from-there", target="there-target", server="other")
    html = client.get(AUDIT).content.decode()
    assert f"All of them are on the server {pymap_server.name}" in html
    assert "here-target" in html
    assert "there-target" not in html  # another server's users and rights are its own
    response = client.get("/audit/export.json")
    assert isinstance(response, StreamingHttpResponse)
    exported = json.loads(b"".join(response))
    assert {row["server"] for row in exported} == {pymap_server.name}


def test_the_outcome_filter_is_a_list_of_the_outcomes_there_are(client: Client, admin: str) -> None:
    event("alice", outcome="UserNotFound")
    event("alice", outcome="Throttled")
    event("bob", outcome="ok")
    html = client.get(AUDIT).content.decode()
    select = html[
        html.index('<select name="outcome"') : html.index("</select>", html.index('name="outcome"'))
    ]
    options = re.findall(r'<option value="([^"]*)"', select)
    assert options == ["", "ok", "not-ok", "Throttled", "UserNotFound"]
    assert len(rows(client.get(f"{AUDIT}?outcome=not-ok"))) == 2
    assert len(rows(client.get(f"{AUDIT}?outcome=Throttled"))) == 1
    # A link to an outcome no event has (yet) still filters, to nothing.
    response = client.get(f"{AUDIT}?outcome=MailboxNotFound")
    assert response.status_code == 200
    assert rows(response) == []


def test_times_are_compact_with_the_full_time_in_the_title(client: Client, admin: str) -> None:
    event("alice", target="old", created_at=datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC))
    html = client.get(AUDIT).content.decode()
    assert 'When <span class="zone">(UTC)</span>' in html
    assert (
        '<time datetime="2021-03-04T05:06:07+00:00" title="2021-03-04 05:06:07 UTC">'
        '<span aria-hidden="true">2021-03-04</span>'
        '<span class="visually-hidden">2021-03-04 05:06:07 UTC</span></time>'
    ) in html
    today = datetime.now(UTC)
    assert f'<span aria-hidden="true">{today:%H:%M}</span>' in html or (
        f'<span aria-hidden="true">{(today - timedelta(minutes=1)):%H:%M}</span>' in html
    )
