"""What the panel has learnt about each pymap server it talks to.

Shared by every panel process and task worker through the database, so that
what one sign-in learnt (which backend the server runs) and what one request
minted (a user's login token, on a backend that keeps every token it issues)
serve all of them.
"""

from __future__ import annotations

from django.db import models


class ServerKnowledge(models.Model):
    """Which pymap backends a server may still run (see adminpanel/pymap/backends.py)."""

    server = models.CharField(max_length=200, unique=True)
    #: Comma-separated backend names, e.g. "maildir" or "maildir,redis".
    backends = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.server}: {self.backends}"


class IssuedToken(models.Model):
    """A login token pymap issued for one user, sealed (adminpanel/lib/sealing.py).

    Kept only for backends that keep every token they issue for good (maildir
    appends a line to pymap-tokens per Login), so that the panel asks for one
    token per user instead of one per page view.
    """

    server = models.CharField(max_length=200)
    user = models.CharField(max_length=255)
    sealed_token = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "user"], name="one_issued_token_per_user")
        ]

    def __str__(self) -> str:
        return f"token for {self.user!r} on {self.server}"
