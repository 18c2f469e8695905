"""Failed sign-ins, counted in the database so every panel instance sees them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class FailedSignIn(models.Model):
    """One sign-in attempt that counts against the limits.

    The row is written before pymap is asked, so attempts made in parallel
    count too, and removed again if the sign-in succeeds. Rows older than the
    throttling window are pruned; see :mod:`adminpanel.accounts.throttle`.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
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
