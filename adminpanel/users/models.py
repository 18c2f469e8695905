"""The panel's own memory of the users it has looked at or changed.

pymap has no RPC that lists users, so the users page offers these instead:
the last :data:`~adminpanel.users.recent.LIMIT` names this panel touched, with
what was last done to each. It is a convenience list, not the server's truth.
"""

from __future__ import annotations

from django.db import models


class LastAction(models.TextChoices):
    VIEWED = "viewed", "Viewed"
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    PASSWORD_CHANGED = "password-changed", "Password changed"
    DELETED = "deleted", "Deleted"


class RecentUser(models.Model):
    #: The server the user is on (its name): each server has its own list.
    server = models.CharField(max_length=200, default="")
    name = models.CharField(max_length=255)
    last_action = models.CharField(max_length=32, choices=LastAction.choices)
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["server", "name"], name="recent_user_server_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.last_action})"
