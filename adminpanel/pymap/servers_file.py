"""Several named servers from one INI file in ``pymap-admin.conf``'s format.

Each section is one server, named by the section. The keys are those
``pymap-admin`` 0.12.1 reads from its config file (``host``, ``port``,
``path``, ``cafile``, ``capath``, ``cert``, ``key``, ``no_verify_cert``, and
``token_file``, which the panel ignores: operators sign in), with the same
meanings, plus the panel's own (``plaintext``, ``timeout``, ``label``,
``backend``) and those that give it read access to the server's user store
for the full user list (``redis_url`` or ``redis_url_file``,
``redis_users_prefix``, ``redis_separator``; ``maildir_path``: see
store_access.py). So the ``[pymap-admin]`` section that ``pymap-admin save-args``
writes is read unchanged as a server named ``pymap-admin``.

A file that cannot be used raises :class:`ServersFileError` naming the file
and the line at fault; settings.py turns it into ImproperlyConfigured.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from .backends import SETTING_CHOICES
from .servers import (
    IMAP_PORTS,
    MAIL_SECURITY_CHOICES,
    MANAGESIEVE_PORT,
    MailEndpoint,
    PymapServer,
)
from .store_access import UserStoreAccess, user_store_access

#: Section names become URL segments (/s/<name>/...): keep them plain.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Keys pymap-admin reads, and the panel's own.
PYMAP_ADMIN_KEYS = frozenset(
    {"host", "port", "path", "cafile", "capath", "cert", "key", "no_verify_cert", "token_file"}
)
PANEL_KEYS = frozenset({"plaintext", "timeout", "label", "backend"})
#: The panel's keys for reading the server's user store (the user list).
USER_STORE_KEYS = frozenset(
    {"redis_url", "redis_url_file", "redis_users_prefix", "redis_separator", "maildir_path"}
)
#: The IMAP and ManageSieve services the panel reaches as a user (docs/servers.md).
MAIL_KEYS = frozenset(
    {
        f"{service}_{key}"
        for service in ("imap", "managesieve")
        for key in ("host", "port", "security")
    }
)
_SECTION_LINE = re.compile(r"\s*\[(?P<name>[^\]]*)\]")


class ServersFileError(ValueError):
    """The servers file cannot be used; the message names file and line."""


class _Lines:
    """Where each section and key is in the file, for the messages
    (configparser keeps no line numbers once it has parsed)."""

    def __init__(self, text: str) -> None:
        self._where: dict[tuple[str, str | None], int] = {}
        section: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if match := _SECTION_LINE.match(line):
                section = match["name"].strip()
                self._where.setdefault((section, None), number)
            elif section is not None and (key := re.match(r"\s*([^=:\s#;]+)\s*[=:]", line)):
                self._where.setdefault((section, key[1].strip().lower()), number)

    def of(self, section: str, key: str | None = None) -> int:
        return self._where.get((section, key)) or self._where.get((section, None), 0)


def load(path: Path) -> tuple[PymapServer, ...]:
    """The servers the file names, in the file's order."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServersFileError(f"{path}: cannot be read ({exc})") from exc
    return parse(text, str(path))


def parse(text: str, origin: str = "<servers file>") -> tuple[PymapServer, ...]:
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        parser.read_string(text, source=origin)
    except configparser.MissingSectionHeaderError as exc:
        raise ServersFileError(
            f"{origin}, line {exc.lineno}: a setting before any [server] section"
        ) from exc
    except configparser.DuplicateSectionError as exc:
        raise ServersFileError(
            f"{origin}, line {exc.lineno}: the server [{exc.section}] is named twice"
        ) from exc
    except configparser.DuplicateOptionError as exc:
        raise ServersFileError(
            f"{origin}, line {exc.lineno}: {exc.option} is set twice in [{exc.section}]"
        ) from exc
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0] if exc.errors else 0
        raise ServersFileError(f"{origin}, line {lineno}: not a 'key = value' line") from exc
    lines = _Lines(text)
    servers = tuple(_server(parser[name], lines, origin) for name in parser.sections())
    if not servers:
        raise ServersFileError(f"{origin}: no [server] section")
    return servers


class _Section:
    """One section's values, each refusal naming its line."""

    def __init__(self, section: configparser.SectionProxy, lines: _Lines, origin: str) -> None:
        self.section, self.name, self._lines, self._origin = section, section.name, lines, origin

    def fail(self, key: str | None, problem: str) -> ServersFileError:
        line = self._lines.of(self.name, key)
        return ServersFileError(f"{self._origin}, line {line}: [{self.name}] {problem}")

    def text(self, key: str) -> str | None:
        return self.section.get(key, "").strip() or None

    def number(
        self, key: str, kind: type[int] | type[float], low: float, high: float
    ) -> float | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            parsed = kind(value)
        except ValueError:
            raise self.fail(key, f"{key} = {value!r} is not a number") from None
        if not low <= parsed <= high:
            raise self.fail(key, f"{key} = {value} is outside {low:g}..{high:g}")
        return parsed

    def flag(self, key: str) -> bool:
        try:
            return self.section.getboolean(key, fallback=False)
        except ValueError:
            raise self.fail(key, f"{key} = {self.section[key]!r} is not true or false") from None

    def check_name_and_keys(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise self.fail(
                None, "is not a usable server name (letters, digits, '.', '_', '-'; 64 at most)"
            )
        for key in self.section:
            if key not in PYMAP_ADMIN_KEYS | PANEL_KEYS | USER_STORE_KEYS | MAIL_KEYS:
                raise self.fail(key, f"has an unknown key {key!r}")


def _server(section: configparser.SectionProxy, lines: _Lines, origin: str) -> PymapServer:
    read = _Section(section, lines, origin)
    read.check_name_and_keys()
    backend = (read.text("backend") or "auto").lower()
    if backend not in SETTING_CHOICES:
        raise read.fail(
            "backend", f"backend = {backend!r} is not one of {', '.join(SETTING_CHOICES)}"
        )
    port = read.number("port", int, 1, 65535)
    timeout = read.number("timeout", float, 0.001, 3600)
    return PymapServer(
        name=read.name,
        path=read.text("path"),
        host=read.text("host"),
        port=int(port) if port is not None else None,
        plaintext=read.flag("plaintext"),
        cafile=read.text("cafile"),
        capath=read.text("capath"),
        certfile=read.text("cert"),
        keyfile=read.text("key"),
        verify_cert=not read.flag("no_verify_cert"),
        timeout=timeout if timeout is not None else 10.0,
        backend=backend,
        label=read.text("label") or "",
        user_store=_user_store(read),
        imap=_endpoint(read, "imap"),
        managesieve=_endpoint(read, "managesieve"),
    )


def _user_store(read: _Section) -> UserStoreAccess:
    url, url_file = read.text("redis_url"), read.text("redis_url_file")
    if url and url_file:
        raise read.fail("redis_url_file", "give redis_url or redis_url_file, not both")
    if url_file:
        try:
            url = Path(url_file).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise read.fail("redis_url_file", f"{url_file} cannot be read ({exc})") from exc
    try:
        return user_store_access(
            redis_url=url,
            redis_users_prefix=read.text("redis_users_prefix"),
            redis_separator=read.text("redis_separator"),
            maildir_path=read.text("maildir_path"),
        )
    except ValueError as exc:
        raise read.fail("redis_url" if url else "maildir_path", str(exc)) from None


def _endpoint(read: _Section, service: str) -> MailEndpoint | None:
    """``imap_host``/``_port``/``_security`` (or ``managesieve_...``); None without a host."""
    security = (read.text(f"{service}_security") or "starttls").lower()
    if security not in MAIL_SECURITY_CHOICES:
        raise read.fail(
            f"{service}_security",
            f"{service}_security = {security!r} is not one of {', '.join(MAIL_SECURITY_CHOICES)}",
        )
    host = read.text(f"{service}_host")
    port = read.number(f"{service}_port", int, 1, 65535)
    if host is None:
        if port is not None:
            raise read.fail(f"{service}_port", f"{service}_port is set without {service}_host")
        return None
    default = IMAP_PORTS[security] if service == "imap" else MANAGESIEVE_PORT
    return MailEndpoint(host, int(port) if port is not None else default, security)
