"""The Users page's list of every user, where the panel may read the store.

pymap's admin API cannot list users; adminpanel/directory/ reads the
backend's own store where the server's settings give access
(adminpanel/pymap/store_access.py). Without access the page falls back on
the users this panel has seen (recent.py) and says how to enable the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.urls import reverse

from adminpanel.directory import listing
from adminpanel.directory.listing import ListedUser, Page, Search, StoreUnreadable
from adminpanel.lib.validators import validate_user_name
from adminpanel.pymap.backends import Backend, Capabilities
from adminpanel.pymap.servers import PymapServer

from .forms.listing import CONTAINS, STARTS_WITH
from .links import user_url

#: How much of the params a row shows; the user page has them all.
SUMMARY_PARAMS = 3
SUMMARY_VALUE_LENGTH = 40


@dataclass(frozen=True)
class Row:
    name: str
    #: The user page, or None for a name the panel cannot open (why_not says why).
    url: str | None
    why_not: str
    roles: tuple[str, ...]
    params: str
    readable: bool


@dataclass(frozen=True)
class UserList:
    #: The store, in words ("redis at 127.0.0.1:6379/13").
    source: str
    rows: tuple[Row, ...] = ()
    page: Page | None = None
    #: Why the store could not be read ("" when it was).
    error: str = ""


def read(server: PymapServer, search: Search, *, after: int) -> UserList:
    """One page of the server's users, from its store."""
    access = server.user_store
    try:
        page = listing.read_page(
            access, search, after=after, size=listing.PAGE_SIZE, timeout=server.timeout
        )
    except StoreUnreadable as exc:
        return UserList(source=access.where, error=exc.message)
    return UserList(source=access.where, rows=tuple(_row(user) for user in page.users), page=page)


def page_url(search: Search, listed: UserList | None, number: int) -> str | None:
    """The Users page at page ``number``: the first (``listed`` None) or the one
    after ``listed``; None when ``listed`` was the last."""
    query: dict[str, str | int] = {}
    if search.text:
        query.update(q=search.text, match=STARTS_WITH if search.starts_with else CONTAINS)
    if listed is not None:
        if listed.page is None or listed.page.next_after is None:
            return None
        query.update(after=listed.page.next_after, page=number)
    base = reverse("users:index")
    return f"{base}?{urlencode(query)}" if query else base


def _row(user: ListedUser) -> Row:
    try:
        validate_user_name(user.name)
    except ValidationError as exc:
        url, why_not = None, exc.messages[0]
    else:
        url, why_not = user_url("users:detail", user.name), ""
    return Row(user.name, url, why_not, user.roles, summarise(user.params), user.readable)


def summarise(params: tuple[tuple[str, str], ...]) -> str:
    """``quota=10, mailbox_path=alice and 2 more``: the first few, values cut short."""
    shown = [f"{key}={_cut(value)}" for key, value in params[:SUMMARY_PARAMS]]
    more = len(params) - SUMMARY_PARAMS
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _cut(value: str) -> str:
    flat = " ".join(value.split())
    if len(flat) <= SUMMARY_VALUE_LENGTH:
        return flat
    return flat[: SUMMARY_VALUE_LENGTH - 1] + "…"


@dataclass(frozen=True)
class HowToEnable:
    """For a server the panel has no store access to: what to set, per backend."""

    backend: Backend
    text: str


def how_to_enable(caps: Capabilities, *, servers_file: bool) -> tuple[HowToEnable, ...]:
    """What would give the panel the full list, for each backend the server may run."""
    redis_setting = "redis_url (or redis_url_file)" if servers_file else "PANEL_REDIS_URL"
    maildir_setting = "maildir_path" if servers_file else "PANEL_MAILDIR_PATH"
    where = " in this server's section of the servers file" if servers_file else ""
    layout = (
        "redis_users_prefix, redis_separator"
        if servers_file
        else "PANEL_REDIS_USERS_PREFIX, PANEL_REDIS_SEPARATOR"
    )
    texts = {
        Backend.REDIS: f"set {redis_setting}{where} to the URL of a Redis user that may only "
        "read pymap's user keys (SCAN and GET/MGET), and, if pymap runs with other than its "
        "default --users-prefix or --separator, the same values "
        f"({layout}).",
        Backend.MAILDIR: f"set {maildir_setting}{where} to pymap's maildir directory (the one "
        "that holds pymap-etc-passwd and pymap-etc-group), shared with the panel read-only; "
        "the panel must run as pymap's own user, which alone may read those files.",
        Backend.DICT: "the dict backend keeps its users in pymap's memory and has no store the "
        "panel could read: this list is all the panel can show.",
    }
    ordered = [backend for backend in Backend if backend in caps.candidates]
    return tuple(HowToEnable(backend, texts[backend]) for backend in ordered)
