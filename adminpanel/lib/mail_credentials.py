"""The operator's own name and password for IMAP and ManageSieve, in a type
whose repr (tracebacks, debug pages, logs) never shows the password."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MailCredentials:
    """Who authenticates (``authcid``), the password, and when the window ends."""

    authcid: str
    password: str = field(repr=False)
    expires_at: float

    def plain(self, authzid: str) -> bytes:
        """The SASL PLAIN message (RFC 4616): authzid NUL authcid NUL password."""
        return f"{authzid}\0{self.authcid}\0{self.password}".encode()
