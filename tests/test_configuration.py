"""Settings and server configuration read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from adminpanel.lib.env import env_bool, env_int, env_secret
from adminpanel.pymap.servers import default_socket_path, server_from_env

ROOT = Path(__file__).resolve().parent.parent


def test_socket_is_the_default_transport() -> None:
    server = server_from_env({})
    assert not server.uses_tcp
    assert server.address == f"unix:{default_socket_path()}"
    assert default_socket_path().endswith("pymap/pymap-admin.sock")


def test_host_and_port_use_tls_unless_plaintext_is_set() -> None:
    tls = server_from_env({"PYMAP_ADMIN_HOST": "mail.example", "PYMAP_ADMIN_PORT": "50051"})
    assert tls.uses_tls
    assert tls.address == "grpcs://mail.example:50051"
    assert tls.ssl_context() is not None
    plain = server_from_env({"PYMAP_ADMIN_HOST": "10.0.0.1", "PYMAP_ADMIN_PLAINTEXT": "yes"})
    assert plain.uses_tcp
    assert not plain.uses_tls
    assert plain.ssl_context() is None


def test_no_verify_cert_disables_verification() -> None:
    import ssl

    server = server_from_env({"PYMAP_ADMIN_PORT": "5", "PYMAP_ADMIN_NO_VERIFY_CERT": "1"})
    context = server.ssl_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    "env",
    [
        {"PYMAP_ADMIN_PORT": "http"},
        {"PYMAP_ADMIN_PORT": "-1"},
        {"PYMAP_ADMIN_TIMEOUT": "soon"},
        {"PYMAP_ADMIN_NO_VERIFY_CERT": "maybe"},
    ],
)
def test_bad_server_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ImproperlyConfigured):
        server_from_env(env)


def test_env_helpers_reject_what_they_cannot_parse(tmp_path: Path) -> None:
    assert env_bool("X", True, env={}) is True
    assert env_bool("X", True, env={"X": "off"}) is False
    with pytest.raises(ImproperlyConfigured):
        env_bool("X", True, env={"X": "perhaps"})
    assert env_int("N", 5, env={"N": "7"}) == 7
    assert env_int("N", 5, maximum=7, env={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="N must be at most 6"):
        env_int("N", 5, maximum=6, env={"N": "7"})
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 5, env={"N": "7.5"})
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    assert env_secret("K", env={"K_FILE": str(secret), "K": "ignored"}) == "from-a-file"
    with pytest.raises(ImproperlyConfigured):
        env_secret("K", env={"K_FILE": str(tmp_path / "missing")})


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import adminpanel.settings as s; print(s.DEBUG, s.SESSION_ENGINE)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _import_settings({})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_secret_key_fallbacks_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    """Rotating the key without them loses every session, sealed token and
    authenticator app at once."""
    show = "import adminpanel.settings as s; print(s.SECRET_KEY_FALLBACKS)"

    def fallbacks(env: dict[str, str]) -> str:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        done = subprocess.run(
            [sys.executable, "-c", show],
            cwd=ROOT,
            env={**clean, "DJANGO_SECRET_KEY": "n" * 50, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert fallbacks({}) == "[]"
    assert fallbacks({"DJANGO_SECRET_KEY_FALLBACKS": "old-one  older"}) == "['old-one', 'older']"
    keys = tmp_path / "fallbacks"
    keys.write_text("old-from-file\n\nolder-from-file\n")
    assert fallbacks({"DJANGO_SECRET_KEY_FALLBACKS_FILE": str(keys)}) == (
        "['old-from-file', 'older-from-file']"
    )


def test_debug_is_off_by_default_and_sessions_are_server_side() -> None:
    result = _import_settings({"DJANGO_SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "adminpanel.accounts.session_store"]
    from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

    from adminpanel.accounts.session_store import SessionStore

    assert issubclass(SessionStore, DatabaseStore)


@pytest.mark.parametrize(("cost", "refusal"), [("9", "at least 10"), ("17", "at most 16")])
def test_the_recovery_code_cost_is_bounded(cost: str, refusal: str) -> None:
    result = _import_settings({"DJANGO_SECRET_KEY": "x" * 50, "PANEL_RECOVERY_CODE_COST": cost})
    assert result.returncode != 0
    assert f"PANEL_RECOVERY_CODE_COST must be {refusal}" in result.stderr


def test_the_imap_and_managesieve_variables_name_the_mail_services() -> None:
    from adminpanel.pymap.servers import MailEndpoint

    assert server_from_env({}).imap is None
    assert server_from_env({}).managesieve is None
    server = server_from_env(
        {
            "PYMAP_IMAP_HOST": "imap.example",
            "PYMAP_IMAP_SECURITY": "tls",
            "PYMAP_MANAGESIEVE_HOST": "sieve.example",
            "PYMAP_MANAGESIEVE_PORT": "24190",
            "PYMAP_MANAGESIEVE_SECURITY": "none",
        }
    )
    assert server.imap == MailEndpoint("imap.example", 993, "tls")
    assert server.managesieve == MailEndpoint("sieve.example", 24190, "none")
    with pytest.raises(ImproperlyConfigured):
        server_from_env({"PYMAP_IMAP_HOST": "m", "PYMAP_IMAP_SECURITY": "ssl"})
