"""Encrypting the bearer tokens the panel keeps in its database.

Three places hold a live token: the session store (the signed-in operator's
token), an import job (a token for its worker, which has no session) and the
tokens kept for users on a backend that keeps every token it issues.
Both keep it sealed with a key derived from ``SECRET_KEY`` (XSalsa20-Poly1305
from PyNaCl), a key of its own for each :class:`Purpose`, so a copy of the
database alone yields no usable token, and a token sealed for one place
cannot be passed off in the other. Every process (web and task workers) must
share ``DJANGO_SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still open tokens
sealed before a key rotation.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from django.conf import settings
from django.utils.crypto import salted_hmac
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

#: The salt from when only import jobs were sealed (this module lived in
#: adminpanel.mail): kept, so that jobs queued before an upgrade still open.
_KEY_SALT = "adminpanel.mail.sealing"


class Purpose(StrEnum):
    """Where a sealed token is kept; each has a key of its own."""

    IMPORT_JOB = "import-job-token"
    SESSION = "session-token"
    #: A login token pymap issued for a user, kept for reuse (servers/issued_tokens.py).
    ISSUED_FOR_USER = "issued-user-token"
    #: The operator's token kept for the worker that applies a bulk plan.
    BULK_PLAN = "bulk-plan-token"
    #: A password a bulk plan will send (from its CSV, or generated).
    BULK_PASSWORD = "bulk-row-password"  # noqa: S105 (a purpose's name, not a password)
    #: A sign-in pymap accepted, waiting for its second factor (twofactor/pending.py).
    PENDING_SIGN_IN = "pending-sign-in"
    #: An authenticator app's shared secret (twofactor/models.py).
    TOTP_SECRET = "totp-secret"  # noqa: S105  (a purpose's name, not a secret)
    #: The operator's own password, for IMAP and ManageSieve as a user, for
    #: PANEL_MAIL_ACCESS_SECONDS (accounts/mail_access.py).
    MAIL_ACCESS = "mail-access-password"


class UnsealError(Exception):
    """The sealed token cannot be opened (another SECRET_KEY, or damaged)."""


@functools.lru_cache(maxsize=16)
def _box(secret: str | bytes, purpose: Purpose) -> SecretBox:
    # Cached: a bulk plan seals and opens a password per row, and the key's
    # derivation (two SHA-256) cost more than the sealing. Keyed by the secret
    # itself, so a rotated SECRET_KEY gets a box of its own.
    key = salted_hmac(_KEY_SALT, str(purpose), secret=secret, algorithm="sha256")
    return SecretBox(key.digest())


def seal(token: str, purpose: Purpose) -> bytes:
    return bytes(_box(settings.SECRET_KEY, purpose).encrypt(token.encode("utf-8")))


def unseal(sealed: bytes, purpose: Purpose) -> str:
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return _box(secret, purpose).decrypt(bytes(sealed)).decode("utf-8")
        except CryptoError:
            continue
    raise UnsealError("the token was sealed with another SECRET_KEY")
