"""What an operator chose for how the panel looks to them: the time zone."""

from __future__ import annotations

from django.db import models


class TimeZoneChoice(models.Model):
    """The zone times are shown in for one identity on one server.

    The identity is the pymap user whose rights the session carries (``name``,
    empty for the server's admin token) and, for "act as" sessions, the user
    who signed in, so each person keeps their own choice.
    """

    server = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)
    admin_token = models.BooleanField(default=False)
    signed_in_as = models.CharField(max_length=300, blank=True)
    #: An IANA zone name (``Europe/Berlin``).
    zone = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["server", "name", "admin_token", "signed_in_as"],
                name="preferences_one_zone_per_identity",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or 'admin token'}: {self.zone}"
