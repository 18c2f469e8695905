"""A user's Sieve scripts over ManageSieve (RFC 5804), with sievelib's client.

sievelib's ``Client.connect`` opens its socket without a connect timeout and
wraps TLS with a default context (no cafile); :func:`open_as` connects itself
(with the server's timeout and trust) and then hands the socket to sievelib
for the protocol: capabilities, STARTTLS, AUTHENTICATE PLAIN and every
command. sievelib reports a NO as False with the server's text in ``errmsg``.

pymap 0.36.7 ignores the PLAIN authorization identity over ManageSieve, so
callers only ever open the authenticating user's own scripts
(mailboxes/access.py).
"""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from sievelib import managesieve

from adminpanel.lib.mail_credentials import MailCredentials
from adminpanel.lib.mail_service_errors import (
    MailAuthFailed,
    MailRefused,
    MailServiceTimeout,
    MailServiceUnavailable,
)
from adminpanel.pymap.servers import PymapServer


@dataclass(frozen=True)
class Scripts:
    active: str | None
    names: list[str]  # every script, the active one included, sorted


class Session:
    def __init__(self, client: managesieve.Client) -> None:
        self._client = client

    def scripts(self) -> Scripts:
        active, others = self._client.listscripts()
        names = sorted([*others, *([active] if active else [])])
        return Scripts(active, names)

    def get(self, name: str) -> str | None:
        script = self._client.getscript(name)
        return script if isinstance(script, str) else None

    def check(self, content: str) -> str | None:
        """The server's error for ``content`` (CHECKSCRIPT), or None if it is valid."""
        if self._client.checkscript(content):
            return None
        return _errmsg(self._client) or "The server refused the script."

    def put(self, name: str, content: str) -> None:
        if not self._client.putscript(name, content):
            raise MailRefused(_errmsg(self._client) or "The server refused the script.")

    def activate(self, name: str) -> None:
        """SETACTIVE; an empty name deactivates every script."""
        if not self._client.setactive(name):
            raise MailRefused(_errmsg(self._client) or "The server did not activate the script.")

    def delete(self, name: str) -> None:
        if not self._client.deletescript(name):
            raise MailRefused(
                _errmsg(self._client) or "The server did not delete the script (is it active?)."
            )


def _errmsg(client: managesieve.Client) -> str:
    raw = client.errmsg or b""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


@contextmanager
def open_as(server: PymapServer, creds: MailCredentials) -> Iterator[Session]:
    endpoint = server.managesieve
    if endpoint is None:
        raise MailServiceUnavailable("This server has no ManageSieve service configured.")
    where = endpoint.address
    client = managesieve.Client(endpoint.host, endpoint.port)
    try:
        client.sock = socket.create_connection(
            (endpoint.host, endpoint.port), timeout=server.timeout
        )
        if endpoint.security == "tls":
            client.sock = server.mail_ssl_context().wrap_socket(
                client.sock, server_hostname=endpoint.host
            )
        if not client._Client__get_capabilities():
            raise MailServiceUnavailable(f"The ManageSieve service at {where} sent no greeting.")
        if endpoint.security == "starttls":
            code, _data = client._Client__send_command("STARTTLS")
            if code != "OK":
                raise MailServiceUnavailable(
                    f"The ManageSieve service at {where} refused STARTTLS."
                )
            client.sock = server.mail_ssl_context().wrap_socket(
                client.sock, server_hostname=endpoint.host
            )
            client._Client__capabilities = {}
            client._Client__get_capabilities()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plaintext only where the operator configured it
            authenticated = client._Client__authenticate(creds.authcid, creds.password, "", "PLAIN")
        if not authenticated:
            raise MailAuthFailed(
                "The mail server did not accept your name and password over ManageSieve."
            )
        yield Session(client)
    except TimeoutError:
        raise MailServiceTimeout(
            f"The ManageSieve service at {where} did not answer in time."
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise MailServiceUnavailable(
            f"The ManageSieve service at {where} cannot be reached ({exc.__class__.__name__})."
        ) from None
    except managesieve.Error as exc:
        # sievelib turns a read timeout into Error("Failed to read ...").
        if str(exc).startswith("Failed to read"):
            raise MailServiceTimeout(
                f"The ManageSieve service at {where} did not answer in time."
            ) from None
        raise MailServiceUnavailable(f"The ManageSieve service at {where} failed: {exc}") from None
    finally:
        if client.sock is not None:
            with suppress(OSError):
                client.sock.close()
            client.sock = None
