"""What the panel keeps about sign-ins in its database, so every instance sees
it: failed attempts (for the throttle) and whose each panel session is."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import models
from django.utils import timezone

from .identity import IdentityKind


class FailedSignIn(models.Model):
    """One sign-in attempt that counts against the limits.

    The row is written before pymap is asked, so attempts made in parallel
    count too, and removed again if the sign-in succeeds. Rows older than the
    throttling window are pruned; see :mod:`adminpanel.accounts.throttle`.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    #: The server signed in to (its name): each server counts on its own.
    server = models.CharField(max_length=200, blank=True)
    #: The client address; "" when the request had none that parses.
    client_address = models.CharField(max_length=45, blank=True)
    #: The user name tried (for a token, the user it claims); "" if none.
    user_name = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["client_address", "at"], name="failed_sign_in_address"),
            models.Index(fields=["user_name", "at"], name="failed_sign_in_user"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.client_address} {self.user_name}"


class OperatorSession(models.Model):
    """Which identity a stored panel session belongs to, on which server.

    One row per server the session is signed in to. Django keeps sessions as
    opaque signed blobs; this index finds the sessions of one identity, so
    that they can be ended together (after a password change, or "sign out
    everywhere"). A row goes with its session:
    sign-out, expiry clean-up and ending a session all delete it.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="operator_sessions")
    server = models.CharField(max_length=200)
    identity_kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    identity_name = models.CharField(max_length=300, blank=True)
    identity_act_as = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["server", "identity_kind", "identity_name"], name="operator_session_who"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["session", "server"], name="operator_session_server")
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.identity_kind} {self.identity_name} on {self.server}"
