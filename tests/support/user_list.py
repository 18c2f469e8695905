"""The full user list in tests: the store access of a test server, and what
the Users page's list shows, read from its HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.store_access import UserStoreAccess, user_store_access
from devtools.pymap_process import PymapProcess

_TABLE = re.compile(r'<table class="user-list.*?</table>', re.S)
_ROW = re.compile(
    r'<td data-label="User">(?P<user>.*?)</td>\s*<td data-label="Roles">(?P<roles>.*?)</td>'
    r'\s*<td data-label="Parameters">(?P<params>.*?)</td>',
    re.S,
)
_NEXT = re.compile(r'<a href="([^"]+)" rel="next">Next page</a>')


@dataclass(frozen=True)
class Listed:
    name: str
    #: The user page's URL, or None where the page shows the name without a link.
    url: str | None
    roles: frozenset[str]
    params: str


def store_access(pymap: PymapProcess, *, redis_url: str | None = None) -> UserStoreAccess:
    """Read access to the test server's own store (``redis_url``: another Redis user)."""
    if pymap.backend == "redis":
        return user_store_access(
            redis_url=redis_url or pymap.redis_url,
            redis_users_prefix=f"{pymap.redis_prefix}/users",
        )
    if pymap.backend == "maildir":
        return user_store_access(maildir_path=str(pymap.maildir_dir))
    raise ValueError("the dict backend has no store to read")


def with_store(server: PymapServer, access: UserStoreAccess) -> PymapServer:
    return replace(server, user_store=access)


def listed(page_html: str) -> list[Listed]:
    """The rows of the page's user list, in the page's order."""
    table = _TABLE.search(page_html)
    if table is None:
        return []
    rows = []
    for row in _ROW.finditer(table.group(0)):
        name = re.search(r'<code class="user-name">(.*?)</code>', row["user"], re.S)
        link = re.search(r'<a href="([^"]+)">', row["user"])
        params = re.search(r'<code class="param-value">(.*?)</code>', row["params"], re.S)
        assert name is not None, row["user"]
        rows.append(
            Listed(
                name=html.unescape(name.group(1)),
                url=html.unescape(link.group(1)) if link else None,
                roles=frozenset(
                    html.unescape(role)
                    for role in re.findall(r'<span class="role">(.*?)</span>', row["roles"])
                ),
                params=html.unescape(params.group(1)) if params else "",
            )
        )
    return rows


def next_page_url(page_html: str) -> str | None:
    found = _NEXT.search(page_html)
    return html.unescape(found.group(1)) if found else None
