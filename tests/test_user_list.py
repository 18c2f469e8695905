"""The list of every user on the Users page, read from the backend's own store
(redis keys, maildir's passwd and group files), against real pymap servers."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.fixtures import Settings as DjangoSettings

from adminpanel.directory import listing, redis_store
from adminpanel.pymap import service
from adminpanel.pymap.servers import PymapServer
from adminpanel.pymap.store_access import user_store_access
from devtools.local_processes import free_ports
from devtools.pymap_process import PymapProcess

from .support.pymap_users import MakeUser
from .support.stored import cli, stored_user
from .support.user_list import Listed, listed, next_page_url, store_access, with_store
from .support.users import page, raw_password_hash, sign_in, signed_in_admin, user_url

pytestmark = pytest.mark.django_db
INDEX = reverse("users:index")


@pytest.fixture(autouse=True)
def _close_redis_connections() -> Iterator[None]:
    yield
    redis_store.close_pools()


@pytest.fixture
def listing_server(
    pymap: PymapProcess, pymap_server: PymapServer, settings: DjangoSettings
) -> PymapServer:
    """The session server, with the panel given read access to its store."""
    server = with_store(pymap_server, store_access(pymap))
    settings.PYMAP_SERVER = server
    return server


def cli_user(pymap: PymapProcess, tmp_path: Path, name: str, *args: str) -> None:
    """Create ``name`` with pymap-admin, with a password, as an operator would."""
    password_file = tmp_path / f"password-{uuid.uuid4().hex}"
    password_file.write_text(secrets.token_urlsafe(12))
    done = cli(pymap, "set-user", "--password-file", str(password_file), *args, name)
    assert done.returncode == 0, done.stdout + done.stderr


def search(client: Client, text: str, *, starts: bool = False, status: int = 200) -> str:
    response = client.get(INDEX, {"q": text, "match": "starts" if starts else "contains"})
    assert response.status_code == status, page(response)[:3000]
    return page(response)


def found(client: Client, text: str, *, starts: bool = False) -> list[Listed]:
    """Every row a search lists, on all its pages (a redis search may take several)."""
    rows: list[Listed] = []
    url: str | None = (
        f"{INDEX}?{urlencode({'q': text, 'match': 'starts' if starts else 'contains'})}"
    )
    while url is not None:
        html = page(client.get(url))
        rows += listed(html)
        url = next_page_url(html)
    return rows


# --- what the list shows --------------------------------------------------------


@pytest.mark.backends("maildir", "redis")
def test_users_made_with_the_cli_are_listed_with_their_true_roles_and_params(
    client: Client,
    listing_server: PymapServer,
    pymap: PymapProcess,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    plain, admin, colon = f"{tag}-plain", f"{tag}-admin", f"{tag}-with:colon"
    cli_user(pymap, tmp_path, plain, "--param", "quota=10G")
    cli_user(pymap, tmp_path, admin, "--role", "admin")
    cli_user(pymap, tmp_path, colon)

    rows = {row.name: row for row in found(client, tag)}

    assert set(rows) == {plain, admin, colon}
    for name, row in rows.items():
        # The roles pymap itself gives the user (on maildir read with the
        # user's own token, and checked against pymap-etc-group).
        truth = stored_user(pymap, name)
        assert truth is not None
        assert row.roles == truth.roles, name
        assert row.url == user_url("users:detail", name)
    assert rows[admin].roles == {"admin"}
    assert rows[plain].roles == frozenset()  # maildir's GetUser with the admin token says admin
    if pymap.backend == "maildir":
        # pymap keeps no other params there; the colon is written "\:".
        assert rows[plain].params == f"mailbox_path={plain}"
        assert f"{tag}-with\\:colon" in (pymap.maildir_dir / "pymap-etc-passwd").read_text()
    else:
        assert rows[plain].params == "quota=10G"
    assert client.get(rows[colon].url or "").status_code == 200


@pytest.mark.backends("maildir", "redis")
def test_no_password_hash_reaches_the_page(
    client: Client, listing_server: PymapServer, pymap: PymapProcess, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    user = pymap_user("hashed")
    stored_hash = raw_password_hash(pymap.server(), pymap.admin_token, user.name)
    assert stored_hash.startswith("$pbkdf2-sha256$")

    html = search(client, user.name)

    assert [row.name for row in found(client, user.name)] == [user.name]
    assert stored_hash not in html
    assert stored_hash.split("$")[-1] not in html
    assert "pbkdf2" not in html


@pytest.mark.backends("maildir", "redis")
def test_pages_follow_on_until_every_user_was_listed_once(
    client: Client,
    listing_server: PymapServer,
    pymap_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    # Only the keys budget ends a page early here, not a busy machine's clock.
    monkeypatch.setattr(redis_store, "SCAN_SECONDS", 30.0)
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    names = {pymap_user(name=f"{tag}-{index}").name for index in range(7)}

    url: str | None = f"{INDEX}?q={tag}&match=starts"
    pages: list[list[str]] = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        html = page(response)
        pages.append([row.name for row in listed(html)])
        assert f"page {len(pages)}" in html
        url = next_page_url(html)
        assert len(pages) < 50, "the pages never end"

    seen = [name for one_page in pages for name in one_page]
    assert set(seen) == names
    assert len(seen) == len(names)  # none listed twice
    assert all(len(one_page) >= 3 for one_page in pages[:-1])  # only the last is short
    for one_page in pages:
        assert one_page == sorted(one_page)
    if listing_server.user_store.maildir_path:
        assert [len(one_page) for one_page in pages] == [3, 3, 1]
        assert "(7 in all)" in html


@pytest.mark.backends("maildir", "redis")
def test_search_ignores_case_and_takes_pattern_characters_literally(
    client: Client, listing_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    star, other, brackets = (
        pymap_user(name=f"{tag}-a*b").name,
        pymap_user(name=f"{tag}-AxB").name,
        pymap_user(name=f"{tag}-c[d]?").name,
    )

    def names(text: str, *, starts: bool = False) -> set[str]:
        return {row.name for row in found(client, text, starts=starts)}

    assert names(f"{tag}-A*B") == {star}  # not "a, anything, b"
    assert names("[D]?") == {brackets}
    assert names(f"{tag.upper()}-A", starts=True) == {star, other}
    assert names("-a*b", starts=True) == set()  # not at the start
    assert names(f"{tag}-axb") == {other}


@pytest.mark.backends("maildir", "redis")
def test_names_the_panel_cannot_open_are_listed_without_a_link(
    client: Client,
    listing_server: PymapServer,
    pymap: PymapProcess,
    pymap_user: MakeUser,
    tmp_path: Path,
) -> None:
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    cli_user(pymap, tmp_path, f"{tag} with space")

    (row,) = found(client, tag)

    assert row.name == f"{tag} with space"
    assert row.url is None
    html = search(client, tag)
    assert "the panel cannot open this name: A user name cannot contain spaces." in html


@pytest.mark.backends("maildir", "redis")
def test_the_search_refuses_control_characters(
    client: Client, listing_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    html = search(client, "line\nbreak", status=400)
    assert "A search cannot contain control characters" in html
    assert 'role="alert"' in html
    assert 'class="user-search"' in html  # the lookup box still works


@pytest.mark.backends("maildir")
def test_a_hand_made_paging_address_is_refused_clearly(
    client: Client, listing_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    response = client.get(INDEX, {"after": "-1", "page": "x"})
    assert response.status_code == 400
    assert "does not come from the list" in page(response)


# --- maildir's files as pymap reads them -------------------------------------------


def test_maildir_files_are_read_as_pymap_reads_them(tmp_path: Path) -> None:
    """Escapes, uid 0, a repeated name and a comma in a group: the list says
    what pymap itself says about each user (GetUser with the user's own token)."""
    with PymapProcess(backend="maildir") as pymap:
        base = pymap.maildir_dir
        base.mkdir(exist_ok=True)
        (base / "pymap-etc-passwd").write_text(
            "root-ish:x:0:::root-ish:\r\n"
            "esc\\:aped:x::::esc\\:aped:\r\n"
            "twice:x::::first:\r\n"
            "twice:x::::second:\r\n"
            "a,b:x::::a,b:\r\n"
            "plain:x::::plain\r\n"
        )
        (base / "pymap-etc-group").write_text("editor:x::esc\\:aped,twice\r\nops:x::a,b\r\n")

        page_ = listing.read_page(store_access(pymap), listing.Search(), after=0)

        assert [user.name for user in page_.users] == sorted(
            ["a,b", "esc:aped", "plain", "root-ish", "twice"]
        )
        server = pymap.server()
        for user in page_.users:
            own_token = service.login(server, user.name, token=pymap.admin_token)
            truth = service.get_user(server, own_token, user.name)
            assert sorted(user.roles) == sorted(truth.roles), user.name
            assert dict(user.params) == truth.params, user.name
        shown = {user.name: user for user in page_.users}
        assert shown["root-ish"].roles == ("admin",)
        assert dict(shown["twice"].params) == {"mailbox_path": "second"}
        assert shown["esc:aped"].roles == ("editor",)
        assert shown["a,b"].roles == ()  # "ops" lists the users "a" and "b"


def test_maildir_snapshot_is_read_again_when_a_file_changes(tmp_path: Path) -> None:
    (tmp_path / "pymap-etc-passwd").write_text("one:x::::one:\r\n")
    access = user_store_access(maildir_path=str(tmp_path))
    assert [u.name for u in listing.read_page(access, listing.Search(), after=0).users] == ["one"]
    replacement = tmp_path / "new"
    replacement.write_text("one:x::::one:\r\ntwo:x::::two:\r\n")
    replacement.rename(tmp_path / "pymap-etc-passwd")  # as pymap writes it
    users = listing.read_page(access, listing.Search(), after=0).users
    assert [u.name for u in users] == ["one", "two"]


# --- redis: read-only -----------------------------------------------------------------


@pytest.fixture
def read_only_redis_user(pymap: PymapProcess) -> Iterator[str]:
    """A Redis ACL user that may run SCAN and MGET on the server's user keys
    and nothing else; its URL. Deleted after the test."""
    admin = redis.Redis.from_url(pymap.redis_url)
    name, password = f"panel-ro-{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    admin.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        commands=["-@all", "+select", "+scan", "+mget"],
        keys=[f"%R~{pymap.redis_prefix}/users/*"],
        reset=True,
    )
    database = pymap.redis_url.rsplit("/", 1)[1]
    try:
        yield f"redis://{name}:{password}@127.0.0.1:6379/{database}"
    finally:
        admin.acl_deluser(name)
        admin.close()


def _refusals_of(pymap: PymapProcess, user_url_: str) -> list[dict[str, object]]:
    """What Redis's ACL LOG says it refused the user of ``user_url_``."""
    name = urlsplit(user_url_).username
    with redis.Redis.from_url(pymap.redis_url) as admin:
        return [entry for entry in admin.acl_log(count=1000) if entry.get("username") == name]


@pytest.mark.backends("redis")
def test_a_read_only_redis_user_is_enough_and_the_panel_never_writes(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
    read_only_redis_user: str,
    tmp_path: Path,
) -> None:
    settings.PYMAP_SERVER = with_store(
        pymap_server, store_access(pymap, redis_url=read_only_redis_user)
    )
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    cli_user(pymap, tmp_path, f"{tag}-one", "--role", "admin")
    pymap_user(name=f"{tag}-two")

    first = found(client, tag)
    whole = page(client.get(INDEX))

    assert {row.name for row in first} == {f"{tag}-one", f"{tag}-two"}
    assert "could not be read" not in whole
    # Redis logs every command its ACL refused: the panel asked for nothing
    # but SCAN and MGET (no KEYS, no CLIENT SETINFO, no write).
    assert _refusals_of(pymap, read_only_redis_user) == []
    # And the ACL holds: this user cannot write, nor run KEYS.
    with redis.Redis.from_url(read_only_redis_user) as limited:
        with pytest.raises(redis.exceptions.NoPermissionError):
            limited.set(f"{pymap.redis_prefix}/users/{tag}-three", "{}")
        with pytest.raises(redis.exceptions.NoPermissionError):
            limited.keys(f"{pymap.redis_prefix}/users/*")


@pytest.mark.backends("redis")
def test_a_redis_user_that_may_not_read_the_keys_is_told_what_it_needs(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
) -> None:
    admin = redis.Redis.from_url(pymap.redis_url)
    name, password = f"panel-scan-only-{uuid.uuid4().hex[:10]}", secrets.token_hex(16)
    admin.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        commands=["-@all", "+select", "+scan"],
        keys=[f"%R~{pymap.redis_prefix}/users/*"],
        reset=True,
    )
    try:
        url = f"redis://{name}:{password}@127.0.0.1:6379/{pymap.redis_url.rsplit('/', 1)[1]}"
        settings.PYMAP_SERVER = with_store(pymap_server, store_access(pymap, redis_url=url))
        signed_in_admin(client, pymap_user)
        pymap_user("listed")
        response = client.get(INDEX)
    finally:
        admin.acl_deluser(name)
        admin.close()
    assert response.status_code == 503
    html = page(response)
    assert "it needs the SCAN and MGET commands" in html
    assert password not in html
    assert 'class="user-search"' in html


# --- no store, or one that cannot be read ---------------------------------------------


@pytest.mark.backends("maildir", "redis")
def test_an_unreachable_store_is_explained_and_the_page_still_works(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
    tmp_path: Path,
) -> None:
    if pymap.backend == "redis":
        (closed_port,) = free_ports(1)
        access = user_store_access(redis_url=f"redis://panel:secret-pw@127.0.0.1:{closed_port}/0")
        expected = f"redis at 127.0.0.1:{closed_port}/0 could not be read"
    else:
        access = user_store_access(maildir_path=str(tmp_path / "not-there"))
        expected = "there is no such directory"
    settings.PYMAP_SERVER = with_store(pymap_server, access)
    signed_in_admin(client, pymap_user)

    response = client.get(INDEX)

    assert response.status_code == 503
    html = page(response)
    assert "The user list could not be read" in html
    assert expected in html
    assert "secret-pw" not in html
    assert "Recently looked at or changed in this panel" in html
    assert 'class="user-search"' in html


def test_without_store_access_the_list_says_what_it_is_built_from_and_how_to_enable_it(
    client: Client, pymap: PymapProcess, pymap_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)  # learns the backend, as a sign-in does
    seen = pymap_user("seen")
    client.get(user_url("users:detail", seen.name))

    html = page(client.get(INDEX))

    assert "Every user: not set up" in html
    assert "built from the users this panel has seen" in html
    assert f'href="{user_url("users:detail", seen.name)}"' in html
    expected = {
        "dict": "no store the panel could read",
        "maildir": "set PANEL_MAILDIR_PATH",
        "redis": "set PANEL_REDIS_URL",
    }
    for backend, words in expected.items():
        assert (words in html) is (backend == pymap.backend), backend


@pytest.mark.backends("maildir", "redis")
def test_an_operator_without_the_admin_role_gets_no_list_and_no_store_read(
    client: Client,
    pymap: PymapProcess,
    pymap_server: PymapServer,
    pymap_user: MakeUser,
    settings: DjangoSettings,
) -> None:
    # A store that cannot be read: reading it would make the page a 503.
    settings.PYMAP_SERVER = with_store(
        pymap_server, user_store_access(maildir_path="/nonexistent/pymap")
    )
    user = pymap_user("plain")
    sign_in(client, user)
    response = client.get(INDEX)
    assert response.status_code == 200
    html = page(response)
    assert "Every user" not in html
    assert "Your account" in html


@pytest.mark.backends("maildir", "redis")
def test_every_page_of_the_list_costs_the_same_few_database_queries(
    client: Client,
    listing_server: PymapServer,
    pymap_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    signed_in_admin(client, pymap_user)
    tag = uuid.uuid4().hex[:10]
    for index in range(5):
        pymap_user(name=f"{tag}-{index}")
    client.get(INDEX)  # the first request of a session may write it

    first = f"{INDEX}?q={tag}&match=starts"
    urls = [first, next_page_url(page(client.get(first))) or f"{first}&after=7&page=2", INDEX]
    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 6, [query["sql"] for query in queries.captured_queries]


@pytest.mark.backends("maildir")
def test_the_plain_users_page_shows_anywhere_in_the_name_chosen(
    client: Client, listing_server: PymapServer, pymap_user: MakeUser
) -> None:
    signed_in_admin(client, pymap_user)
    html = page(client.get(INDEX))
    assert re.search(r'<input type="radio" name="match" value="contains"[^>]* checked', html)
    assert not re.search(r'value="starts"[^>]* checked', html)
