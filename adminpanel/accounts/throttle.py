"""Limits on failed sign-ins: per user name from one address, per user name
from anywhere (a higher ceiling), and per client address.

Each attempt is written to the database *before* pymap is asked (so a burst of
parallel attempts is counted as it happens) and removed again when it did not
fail. An attempt is refused, without asking pymap, while the attempts in the
last window would exceed any of the three limits.

The trade-off: anyone who knows an operator's name can send wrong passwords
for it, so a low limit per user name alone lets any address block that
operator. The low limit therefore counts a user name *from one address*
(10 by default): an attacker blocks only their own address. The ceiling per
user name from anywhere is higher (100) and still stops guessing spread over
many addresses; reaching it takes a distributed attack, which then does block
the operator's password sign-in until the window has passed. Wrong second
factors are counted apart, with far lower bounds (adminpanel/twofactor/throttle.py).

The window slides: an old failure stops counting once it is older than the
window, so nobody can lock a user out for longer than an attack lasts plus
one window. Rows live in the database, so every panel instance sees the same
counts; those older than the window are pruned as new attempts arrive.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from adminpanel.lib.refusal import Refusal

from .models import FailedSignIn


class SignInThrottled(Refusal):
    """Too many recent failures; ``retry_after`` is whole seconds to wait
    (a 429 page with ``Retry-After``). A password check made for a form
    names the form's password field (password_check.counted_login)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = math.ceil(retry_after / 60)
        super().__init__(
            "Too many failed sign-ins for this user name or from this address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class Attempt:
    """A sign-in attempt that counts as failed until :meth:`release` is called."""

    def __init__(self, row: FailedSignIn) -> None:
        self._row = row

    def release(self) -> None:
        """The attempt did not fail: the operator signed in, or pymap was not
        reached or did not answer."""
        FailedSignIn.objects.filter(pk=self._row.pk).delete()


def window() -> timedelta:
    return timedelta(seconds=settings.PANEL_SIGN_IN_WINDOW_SECONDS)


def begin(
    server: str, address: str | None, user_name: str | None, *, now: datetime | None = None
) -> Attempt:
    """Count an attempt on ``server`` from ``address`` for ``user_name``, or
    refuse it. Each server has counters of its own: its users are its own.

    Raises :class:`SignInThrottled` (and counts nothing) when either limit is
    reached. Requests without a usable address share one counter, so a
    misconfigured proxy setting fails closed rather than open.
    """
    now = timezone.now() if now is None else now
    since = now - window()
    FailedSignIn.objects.filter(at__lt=since).delete()
    row = FailedSignIn.objects.create(
        at=now, server=server[:200], client_address=address or "", user_name=(user_name or "")[:255]
    )
    on_server = FailedSignIn.objects.filter(server=row.server)
    from_address = on_server.filter(client_address=row.client_address)
    limits = [(from_address, settings.PANEL_SIGN_IN_LIMIT_PER_ADDRESS)]
    if row.user_name:
        limits.append(
            (on_server.filter(user_name=row.user_name), settings.PANEL_SIGN_IN_LIMIT_PER_USER)
        )
        limits.append(
            (
                from_address.filter(user_name=row.user_name),
                settings.PANEL_SIGN_IN_LIMIT_PER_USER_ADDRESS,
            )
        )
    wait = max(_wait(rows, allowed, since, now) for rows, allowed in limits)
    if wait > 0:
        row.delete()
        raise SignInThrottled(wait)
    return Attempt(row)


def _wait(rows: QuerySet[FailedSignIn], allowed: int, since: datetime, now: datetime) -> int:
    """Whole seconds until the attempt just counted in ``rows`` is within
    ``allowed``; 0 if it already is."""
    recent = rows.filter(at__gte=since).order_by("at", "pk")
    over = recent.count() - allowed
    if over <= 0:
        return 0
    # Once the `over` oldest attempts have left the window, a new one fits.
    last_to_expire: datetime = recent.values_list("at", flat=True)[over - 1]
    return max(1, math.ceil((last_to_expire + window() - now).total_seconds()))
