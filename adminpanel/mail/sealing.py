"""Encrypting the token an import job keeps for its worker.

The worker needs a token to call Append, but only the web process has the
operator's session. The job row therefore carries a token sealed with a key
derived from ``SECRET_KEY`` (XSalsa20-Poly1305 from PyNaCl), so a copy of the
database alone does not yield a usable token. The web process and every task
worker must share ``DJANGO_SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still open
tokens sealed before a key rotation.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import salted_hmac
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

_KEY_SALT = "adminpanel.mail.sealing"


class UnsealError(Exception):
    """The sealed token cannot be opened (another SECRET_KEY, or damaged)."""


def _box(secret: str | bytes) -> SecretBox:
    key = salted_hmac(_KEY_SALT, "import-job-token", secret=secret, algorithm="sha256")
    return SecretBox(key.digest())


def seal(token: str) -> bytes:
    return bytes(_box(settings.SECRET_KEY).encrypt(token.encode("utf-8")))


def unseal(sealed: bytes) -> str:
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return _box(secret).decrypt(bytes(sealed)).decode("utf-8")
        except CryptoError:
            continue
    raise UnsealError("the job's token was sealed with another SECRET_KEY")
