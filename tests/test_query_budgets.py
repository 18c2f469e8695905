"""Query budgets: how many database queries each main page costs once warm.

A page's queries are most of what it costs beyond rendering (each one a round
of the ORM and SQLite; a write transaction takes SQLite's one write lock), so
a change that adds one to a page must say so here: each budget is exact, and
the failure lists the page's queries. Measured on a page requested again
(the user just looked at stays listed, what was learnt of the server is
known), as nearly every request finds it; the header's recent-user
suggestions and what is known of the server's backend are then reused
(users/recent.py, servers/knowledge.py).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from adminpanel.servers import knowledge
from adminpanel.users import recent
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser
from .support.users import signed_in_admin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pymap_server", "mail_spool"),
]

#: page -> queries, on every backend unless BACKEND_BUDGETS says otherwise.
BUDGETS = {
    "sign-in": 0,  # no session yet
    # The session; the recent changes, imports, failed sign-ins (a list and a
    # count: the activity panel); the recent users.
    "dashboard": 5,
    "user": 1,  # the session
    "audit": 3,  # the session, the outcomes to filter by, the page's count
    "users": 2,  # the session, the recent users
    "bulk": 3,  # the session, the result files to sweep, the recent plans
    "tokens": 1,
    "deliver": 1,
    "imports": 2,  # the session, the imports
}
BACKEND_BUDGETS: dict[str, dict[str, int]] = {
    # The admin token's GetUser merges its role into every record: the user
    # is read with a login token of its own, which the panel keeps (a query).
    "maildir": {"user": 2},
}


def _paths(user: str) -> dict[str, str]:
    return {
        "sign-in": "/accounts/sign-in/",
        "dashboard": "/",
        "user": f"/users/user/?name={user}",
        "audit": "/audit/",
        "users": "/users/",
        "bulk": "/bulk/",
        "tokens": "/tokens/",
        "deliver": "/mail/deliver/",
        "imports": "/mail/import/",
    }


def _queries(client: Client, path: str) -> list[str]:
    for _ in range(2):  # warm: what the first view writes is written
        assert client.get(path).status_code == 200, path
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("page", list(BUDGETS))
def test_each_main_page_costs_its_budget_of_queries(
    client: Client,
    pymap: PymapProcess,
    pymap_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    page: str,
) -> None:
    # What a page reuses from the last, kept however slow this machine is.
    monkeypatch.setattr(recent, "SUGGESTIONS_SECONDS", 3600.0)
    monkeypatch.setattr(knowledge, "KNOWN_SECONDS", 3600.0)
    looked_at = pymap_user("budget")
    if page != "sign-in":
        signed_in_admin(client, pymap_user)
    queries = _queries(client, _paths(looked_at.name)[page])
    budget = BACKEND_BUDGETS.get(pymap.backend, {}).get(page, BUDGETS[page])
    listing = "\n".join(f"  {sql[:200]}" for sql in queries)
    assert len(queries) == budget, f"{page}: {len(queries)} queries, budget {budget}:\n{listing}"


def test_templates_are_compiled_once_per_process() -> None:
    """Django's cached loader (its default when TEMPLATES names no loaders):
    a page renders templates parsed once, not read and parsed per request."""
    from django.template import engines

    engine = engines["django"].engine  # type: ignore[attr-defined]
    assert [loader[0] for loader in engine.loaders] == ["django.template.loaders.cached.Loader"]
