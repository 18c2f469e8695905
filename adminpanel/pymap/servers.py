"""Where a pymap admin service is and how to reach it.

One :class:`PymapServer` holds everything needed to open a channel, so the
panel can later be pointed at several named servers. The environment variables
have the meaning they have for the ``pymap-admin`` CLI.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import gettempdir

from django.core.exceptions import ImproperlyConfigured

from adminpanel.lib.env import env_bool, env_choice, env_float, env_int, env_secret, env_str

from .backends import AUTO, SETTING_CHOICES
from .store_access import UserStoreAccess, user_store_access

DEFAULT_PORT = 50051

#: How the panel reaches a server's IMAP or ManageSieve service: STARTTLS on
#: the plain port, TLS from the first byte, or plaintext (loopback and tests).
MAIL_SECURITY_CHOICES = ("starttls", "tls", "none")
IMAP_PORTS = {"starttls": 143, "none": 143, "tls": 993}
MANAGESIEVE_PORT = 4190  # RFC 5804 has no implicit-TLS port; pymap serves 4190


def default_socket_path() -> str:
    """The unix socket pymap creates under its temporary directory."""
    return str(Path(gettempdir()) / "pymap" / "pymap-admin.sock")


@dataclass(frozen=True)
class MailEndpoint:
    """Where a server's IMAP or ManageSieve service listens (not gRPC: the
    panel reaches them as a user, see adminpanel/imap/ and adminpanel/sieve/)."""

    host: str
    port: int
    security: str = "starttls"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


@dataclass(frozen=True)
class PymapServer:
    """Connection settings for one pymap admin service.

    Exactly one transport is used: a unix socket (``path``) when neither host
    nor port is given, otherwise TCP, with TLS unless ``plaintext`` is set.
    ``backend`` is the storage backend the operator says the server runs
    (dict, maildir, redis), or "auto" to learn it from the server's answers.
    """

    name: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    plaintext: bool = False
    cafile: str | None = None
    capath: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    verify_cert: bool = True
    timeout: float = 10.0
    backend: str = AUTO
    #: How pages name the server ("" for its name).
    label: str = ""
    #: Where the panel may read the backend's users for the full user list
    #: (not gRPC: adminpanel/directory/ reads it); none by default.
    user_store: UserStoreAccess = field(default_factory=UserStoreAccess)
    #: The server's IMAP service, for a user's mailboxes (None: not offered).
    imap: MailEndpoint | None = None
    #: The server's ManageSieve service, for a user's filters (None: not offered).
    managesieve: MailEndpoint | None = None

    @property
    def title(self) -> str:
        """The server as the header, titles and the overview name it."""
        return self.label or self.name

    @property
    def uses_tcp(self) -> bool:
        return self.host is not None or self.port is not None

    @property
    def uses_tls(self) -> bool:
        return self.uses_tcp and not self.plaintext

    @property
    def address(self) -> str:
        """A human-readable address, shown on the dashboard."""
        if self.uses_tcp:
            scheme = "grpc" if self.plaintext else "grpcs"
            return f"{scheme}://{self.host or 'localhost'}:{self.port or DEFAULT_PORT}"
        return f"unix:{self.path or default_socket_path()}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.cafile, capath=self.capath)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        if not self.verify_cert:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        return context

    def mail_ssl_context(self) -> ssl.SSLContext:
        """TLS for IMAP and ManageSieve: the same trust (cafile, capath,
        no_verify_cert) as the admin service, which pymap serves with the
        same certificate."""
        context = ssl.create_default_context(cafile=self.cafile, capath=self.capath)
        if not self.verify_cert:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def server_from_env(env: Mapping[str, str] = os.environ, *, name: str = "default") -> PymapServer:
    """Read the ``PYMAP_ADMIN_*`` variables, as ``pymap-admin`` does."""

    def text(var: str) -> str | None:
        return env_str(var, env=env) or None

    port = env_int("PYMAP_ADMIN_PORT", 0, minimum=1, env=env) if text("PYMAP_ADMIN_PORT") else None
    imap_security = env_choice("PYMAP_IMAP_SECURITY", "starttls", MAIL_SECURITY_CHOICES, env=env)
    sieve_security = env_choice(
        "PYMAP_MANAGESIEVE_SECURITY", "starttls", MAIL_SECURITY_CHOICES, env=env
    )
    imap_host, sieve_host = text("PYMAP_IMAP_HOST"), text("PYMAP_MANAGESIEVE_HOST")
    return PymapServer(
        name=text("PYMAP_ADMIN_NAME") or name,
        path=text("PYMAP_ADMIN_PATH"),
        host=text("PYMAP_ADMIN_HOST"),
        port=port,
        plaintext=env_bool("PYMAP_ADMIN_PLAINTEXT", False, env=env),
        cafile=text("PYMAP_ADMIN_CAFILE"),
        capath=text("PYMAP_ADMIN_CAPATH"),
        certfile=text("PYMAP_ADMIN_CERT"),
        keyfile=text("PYMAP_ADMIN_KEY"),
        verify_cert=not env_bool("PYMAP_ADMIN_NO_VERIFY_CERT", False, env=env),
        timeout=env_float("PYMAP_ADMIN_TIMEOUT", 10.0, minimum=0.001, env=env),
        backend=env_choice("PYMAP_ADMIN_BACKEND", AUTO, SETTING_CHOICES, env=env),
        user_store=_user_store_from_env(env),
        imap=MailEndpoint(
            imap_host,
            env_int("PYMAP_IMAP_PORT", IMAP_PORTS[imap_security], minimum=1, env=env),
            imap_security,
        )
        if imap_host
        else None,
        managesieve=MailEndpoint(
            sieve_host,
            env_int("PYMAP_MANAGESIEVE_PORT", MANAGESIEVE_PORT, minimum=1, env=env),
            sieve_security,
        )
        if sieve_host
        else None,
    )


def _user_store_from_env(env: Mapping[str, str]) -> UserStoreAccess:
    """``PANEL_REDIS_URL`` (or ``_FILE``: it may hold the Redis user's password),
    ``PANEL_REDIS_USERS_PREFIX``, ``PANEL_REDIS_SEPARATOR``, ``PANEL_MAILDIR_PATH``."""
    try:
        return user_store_access(
            redis_url=env_secret("PANEL_REDIS_URL", env=env) or None,
            redis_users_prefix=env_str("PANEL_REDIS_USERS_PREFIX", env=env) or None,
            redis_separator=env_str("PANEL_REDIS_SEPARATOR", env=env) or None,
            maildir_path=env_str("PANEL_MAILDIR_PATH", env=env) or None,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"PANEL_REDIS_URL / PANEL_MAILDIR_PATH: {exc}") from exc
