"""Recovery codes: ten random codes, shown once, kept as scrypt digests.

A set shares one random salt, so checking a code costs one scrypt however
many codes are left (each code has 60 bits of its own, so a shared salt
gives an attacker with the database nothing to share work on).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from adminpanel.accounts.identity import Identity

from .models import RecoveryCode, owned_by

COUNT = 10
#: No 0/o, 1/l/i: codes are read off paper.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 3, 4
#: scrypt's block size, parallelism and digest length; its cost n is 2**cost,
#: kept with each code (``PANEL_RECOVERY_CODE_COST`` when the set was made),
#: so that raising the setting leaves the codes already handed out working.
_SCRYPT = {"r": 8, "p": 1, "dklen": 32}


def _digest(code: str, salt: bytes, cost: int) -> bytes:
    # scrypt needs a little over 128 * r * n bytes (16 MiB at cost 14);
    # OpenSSL's default limit is 32 MiB, too little from cost 15 on.
    needed = 128 * _SCRYPT["r"] * 2**cost + 2**20
    return hashlib.scrypt(code.encode("ascii"), salt=salt, n=2**cost, maxmem=needed, **_SCRYPT)


def normalised(text: str) -> str:
    """What was typed, without spaces or hyphens, lower case."""
    return "".join(ch for ch in text.lower() if ch not in " -\t")


def looks_like_code(text: str) -> bool:
    code = normalised(text)
    return len(code) == GROUPS * GROUP_LENGTH and all(ch in ALPHABET for ch in code)


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))


def shown(code: str) -> str:
    return "-".join(code[i : i + GROUP_LENGTH] for i in range(0, len(code), GROUP_LENGTH))


@transaction.atomic
def new_set(server: str, identity: Identity) -> list[str]:
    """Replace the identity's codes with ten new ones; returns them, as shown."""
    RecoveryCode.objects.filter(**owned_by(server, identity)).delete()
    salt, cost = secrets.token_bytes(16), settings.PANEL_RECOVERY_CODE_COST
    codes = [_new_code() for _ in range(COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            **owned_by(server, identity), digest=_digest(code, salt, cost), salt=salt, cost=cost
        )
        for code in codes
    )
    return [shown(code) for code in codes]


def unused(server: str, identity: Identity) -> int:
    return RecoveryCode.objects.filter(**owned_by(server, identity), used_at=None).count()


def drop_all(server: str, identity: Identity) -> None:
    RecoveryCode.objects.filter(**owned_by(server, identity)).delete()


def use(server: str, identity: Identity, typed: str) -> bool:
    """Spend the code if it is one of the identity's unused codes. Two
    requests with the same code: only one marks it used."""
    if not looks_like_code(typed):
        return False
    code = normalised(typed)
    rows = list(RecoveryCode.objects.filter(**owned_by(server, identity), used_at=None))
    digests: dict[tuple[bytes, int], bytes] = {}
    for row in rows:
        key = (bytes(row.salt), row.cost)
        if key not in digests:
            digests[key] = _digest(code, *key)
        if hmac.compare_digest(digests[key], bytes(row.digest)):
            spent = RecoveryCode.objects.filter(pk=row.pk, used_at=None).update(
                used_at=timezone.now()
            )
            return spent == 1
    return False
