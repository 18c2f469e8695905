"""Limits on wrong second factors, apart from the sign-in limits.

Whoever reaches the second step has the password (or token) already, and the
code space is small (10^6 six-digit codes, three of them accepted at a time
for clock drift), so the sign-in limits (100 per user name per 15 minutes,
about 9,600 a day from many addresses) would give an attacker about 3% of a
success every day, and the real user's own sign-ins would share their counters. So:

- **per pending sign-in**: ``PANEL_SECOND_FACTOR_TRIES`` (5) wrong answers,
  then that sign-in ends and the password must be given again (which the
  sign-in limits count when it fails);
- **per identity on a server**, codes only: ``PANEL_SECOND_FACTOR_CODES_PER_DAY``
  (10) wrong codes in the last 24 hours, then codes are refused (429) until
  the oldest leaves the day. At 10 a day an attacker who has the password
  tries 3,650 codes a year: a chance of about 1 in 90 of passing, every try
  audited (``second-factor-fail``). Reaching the bound blocks the real
  user's codes for the rest of the day, not their passkeys (a passkey cannot
  be guessed, so it counts per pending sign-in only), and an admin can remove
  factors (``/second-factor/others/``): someone who reaches it has the
  password, which is the thing to change.

Rows live in the database, so every panel instance sees the same counts.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import FailedSecondFactor, PendingSignIn, owned_by

DAY = timedelta(days=1)


class TooManyTries(Exception):
    """This pending sign-in has had its wrong answers: it must end."""


class CodesThrottled(Exception):
    """Too many wrong codes for this identity today; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"second-factor codes throttled for {retry_after} s")
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        hours = math.ceil(self.retry_after / 3600)
        return (
            "Too many wrong codes for this account today. Try again in "
            f"{hours} hour{'s' if hours != 1 else ''}, use a passkey, or ask an admin."
        )


class Attempt:
    """An answer that counts as wrong until :meth:`release` is called."""

    def __init__(self, row: FailedSecondFactor) -> None:
        self._row = row

    def release(self) -> None:
        """The answer was right."""
        FailedSecondFactor.objects.filter(pk=self._row.pk).delete()


def begin(waiting: PendingSignIn, *, code: bool, now: datetime | None = None) -> Attempt:
    """Count an answer for ``waiting`` (a code, or a passkey), or refuse it:
    :class:`TooManyTries` or :class:`CodesThrottled`, counting nothing."""
    now = timezone.now() if now is None else now
    FailedSecondFactor.objects.filter(at__lt=now - DAY).delete()
    row = FailedSecondFactor.objects.create(
        **owned_by(waiting.server, waiting.owner), pending_key=waiting.key, is_code=code, at=now
    )
    if tries_of(waiting) > settings.PANEL_SECOND_FACTOR_TRIES:
        row.delete()
        raise TooManyTries
    if code:
        codes = FailedSecondFactor.objects.filter(
            **owned_by(waiting.server, waiting.owner), is_code=True, at__gte=now - DAY
        )
        wait = _wait(codes, settings.PANEL_SECOND_FACTOR_CODES_PER_DAY, now)
        if wait > 0:
            row.delete()
            raise CodesThrottled(wait)
    return Attempt(row)


def tries_of(waiting: PendingSignIn) -> int:
    """Wrong answers counted for this pending sign-in."""
    return FailedSecondFactor.objects.filter(pending_key=waiting.key).count()


def spent(waiting: PendingSignIn) -> bool:
    """Whether no further answer would be checked for ``waiting``."""
    return tries_of(waiting) >= settings.PANEL_SECOND_FACTOR_TRIES


def _wait(rows: QuerySet[FailedSecondFactor], allowed: int, now: datetime) -> int:
    """Whole seconds until the answer just counted in ``rows`` is within ``allowed``."""
    recent = rows.order_by("at", "pk")
    over = recent.count() - allowed
    if over <= 0:
        return 0
    last_to_expire: datetime = recent.values_list("at", flat=True)[over - 1]
    return max(1, math.ceil((last_to_expire + DAY - now).total_seconds()))
