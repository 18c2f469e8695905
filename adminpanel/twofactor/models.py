"""What the panel keeps for second factors: pymap knows nothing of them.

Every row belongs to one identity on one server (``server``,
``identity_kind``, ``identity_name``): the user who authenticated (not the
one acted as), or the server's admin token (kind ``admin-token``, no name).
Nothing here is usable from a copy of the database alone: TOTP secrets and
pending sign-ins' tokens are sealed with a key from ``SECRET_KEY``, recovery
codes are kept as scrypt digests, passkeys as public keys.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from adminpanel.accounts.identity import Identity, IdentityKind


def owned_by(server: str, identity: Identity) -> dict[str, str]:
    """The filter for the rows of ``identity`` on ``server``."""
    return {"server": server, "identity_kind": identity.kind, "identity_name": identity.name}


class Owned(models.Model):
    server = models.CharField(max_length=200)
    identity_kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    identity_name = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True

    @property
    def owner(self) -> Identity:
        return Identity(IdentityKind(self.identity_kind), self.identity_name)


class Factor(Owned):
    """An authenticator app (TOTP, RFC 6238) or a passkey (WebAuthn)."""

    class Kind(models.TextChoices):
        TOTP = "totp", "Authenticator app"
        PASSKEY = "passkey", "Passkey"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    #: TOTP: the shared secret (base32), sealed (Purpose.TOTP_SECRET).
    sealed_secret = models.BinaryField(default=b"", blank=True)
    #: TOTP: the last time step accepted; a code of that step or an earlier
    #: one is refused (no replay within the code's window).
    last_step = models.BigIntegerField(default=0)
    #: Passkey: the credential's ID (base64url) and COSE public key.
    credential_id = models.TextField(blank=True)
    public_key = models.BinaryField(default=b"", blank=True)
    sign_count = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["server", "identity_kind", "identity_name"], name="factor_owner")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name!r} of {self.owner.label} on {self.server}"


class RecoveryCode(Owned):
    """One single-use recovery code, as an scrypt digest. One set (ten codes,
    one salt) per identity; a new set replaces the old."""

    digest = models.BinaryField()
    salt = models.BinaryField()
    #: scrypt's n is 2**cost (codes made before it was kept: 14).
    cost = models.PositiveSmallIntegerField(default=14)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["server", "identity_kind", "identity_name"], name="recovery_code_owner"
            )
        ]

    def __str__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"recovery code ({state}) of {self.owner.label} on {self.server}"


class PendingSignIn(Owned):
    """A sign-in pymap accepted, waiting for its second factor.

    ``key`` is random and kept in the browser's (server-side) session; the
    signed-in operator, token included, is sealed (Purpose.PENDING_SIGN_IN)
    and never reaches the session until the factor is given. The row is
    deleted when the sign-in completes, when the browser signs out, and once
    ``expires_at`` has passed.
    """

    key = models.CharField(max_length=64, primary_key=True)
    sealed_operator = models.BinaryField()
    #: What the sign-in page would have told the operator (ROLE_WITHOUT_RIGHTS).
    notice = models.CharField(max_length=1000, blank=True)
    #: The "act as" of the sign-in, for the audit record.
    act_as = models.CharField(max_length=300, blank=True)
    next_url = models.CharField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    #: The WebAuthn challenge of the passkey prompt, if one was offered.
    challenge = models.BinaryField(default=b"", blank=True)

    def __str__(self) -> str:
        return f"pending sign-in of {self.owner.label} on {self.server}"


class FailedSecondFactor(Owned):
    """One second-factor answer that counts against the limits of
    :mod:`adminpanel.twofactor.throttle` (never the sign-in limits).

    Written before the answer is checked, so answers sent in parallel count
    too, and removed again when it was right. ``pending_key`` names the
    pending sign-in it was given for (the row outlives it: the count per
    identity covers a day). Rows older than a day are pruned.
    """

    pending_key = models.CharField(max_length=64, db_index=True)
    #: A code (authenticator app or recovery code) can be guessed; a passkey's
    #: signature over a fresh challenge cannot, so only codes count per day.
    is_code = models.BooleanField(default=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["server", "identity_kind", "identity_name", "at"],
                name="failed_second_factor_owner",
            )
        ]

    def __str__(self) -> str:
        what = "code" if self.is_code else "passkey"
        return f"{self.at:%Y-%m-%d %H:%M:%S} wrong {what} of {self.owner.label} on {self.server}"
