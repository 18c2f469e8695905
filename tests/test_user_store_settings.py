"""Per-server read access to the user store: the environment and the servers file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from adminpanel.pymap.backends import ALL, Backend, capabilities
from adminpanel.pymap.servers import server_from_env
from adminpanel.pymap.servers_file import ServersFileError, parse
from adminpanel.pymap.store_access import StoreKind, UserStoreAccess
from adminpanel.users.user_list import how_to_enable, summarise


def test_without_settings_the_panel_reads_no_store() -> None:
    assert server_from_env({}).user_store == UserStoreAccess()
    assert server_from_env({}).user_store.kind is None


def test_a_redis_url_from_the_environment_is_never_shown() -> None:
    server = server_from_env(
        {
            "PANEL_REDIS_URL": "redis://panel:s3cret-pw@redis.internal:6380/2",
            "PANEL_REDIS_USERS_PREFIX": "mail/users",
            "PANEL_REDIS_SEPARATOR": ":",
        }
    )
    store = server.user_store
    assert store.kind is StoreKind.REDIS
    assert store.redis_keys_start == "mail/users:"
    assert store.where == "redis at redis.internal:6380/2"
    assert "s3cret-pw" not in repr(server)


def test_the_redis_url_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "redis-url"
    secret.write_text("redis://panel:pw@127.0.0.1:6379/0\n")
    store = server_from_env({"PANEL_REDIS_URL_FILE": str(secret)}).user_store
    assert store.redis_url == "redis://panel:pw@127.0.0.1:6379/0"
    assert store.redis_keys_start == "/users/"  # pymap's defaults


def test_a_maildir_path_from_the_environment() -> None:
    store = server_from_env({"PANEL_MAILDIR_PATH": "/srv/pymap"}).user_store
    assert store.kind is StoreKind.MAILDIR
    assert store.where == "the maildir files in /srv/pymap"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PANEL_REDIS_URL": "redis://h/0", "PANEL_MAILDIR_PATH": "/srv"}, "not both"),
        ({"PANEL_REDIS_URL": "http://panel:pw@h/0"}, "must start with redis://"),
    ],
)
def test_unusable_store_settings_stop_the_panel_without_echoing_the_url(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=words) as refused:
        server_from_env(env)
    assert "pw@" not in str(refused.value)


def test_the_servers_file_takes_the_user_store_keys(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("rediss://panel:pw@redis.internal/0")
    production, staging, plain = parse(
        "[production]\n"
        f"redis_url_file = {secret}\n"
        "redis_users_prefix = /prod/users\n"
        "[staging]\n"
        "path = /run/staging.sock\n"
        "maildir_path = /srv/staging\n"
        "[plain]\n"
        "path = /run/plain.sock\n"
    )
    assert production.user_store.redis_url == "rediss://panel:pw@redis.internal/0"
    assert production.user_store.redis_keys_start == "/prod/users/"
    assert staging.user_store.maildir_path == "/srv/staging"
    assert plain.user_store.kind is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[a]\nredis_url = redis://h/0\nmaildir_path = /srv\n", "line 2: [a] give either"),
        ("[a]\nredis_url = redis://h/0\nredis_url_file = /x\n", "line 3: [a] give redis_url"),
        ("[a]\nredis_url_file = /nonexistent/url\n", "line 2: [a] /nonexistent/url cannot be read"),
        ("[a]\nredis_url = ftp://h/0\n", "line 2: [a] the redis URL must start"),
    ],
)
def test_the_servers_file_names_the_line_of_a_bad_store_setting(text: str, words: str) -> None:
    with pytest.raises(ServersFileError) as refused:
        parse(text, "servers.conf")
    assert words in str(refused.value)


def test_how_to_enable_names_the_settings_of_where_the_server_is_configured() -> None:
    redis = capabilities({Backend.REDIS})
    (env,) = how_to_enable(redis, servers_file=False)
    (file,) = how_to_enable(redis, servers_file=True)
    assert "PANEL_REDIS_URL" in env.text
    assert "redis_url (or redis_url_file) in this server's section" in file.text
    assert [how.backend for how in how_to_enable(capabilities(ALL), servers_file=False)] == [
        Backend.DICT,
        Backend.MAILDIR,
        Backend.REDIS,
    ]


def test_the_params_summary_shows_the_first_few_cut_short() -> None:
    params = (("a", "1"), ("b", "x" * 60), ("c", "line\nbreak"), ("d", "4"), ("e", "5"))
    assert summarise(params) == f"a=1, b={'x' * 39}…, c=line break and 2 more"
    assert summarise(()) == ""
