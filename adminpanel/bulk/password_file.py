"""The result file of a bulk plan: the passwords the panel generated, once.

A new user without a password in the CSV gets a generated one. The panel
writes it to one file per plan in its spool (``bulk/<spool name>/``, 0600),
never to a page, a log or the audit. The file can be downloaded once: the
download takes it away (a rename, so two clicks cannot both get it), and a
file nobody fetched is deleted an hour after it was written
(``PANEL_BULK_RESULT_SECONDS``), by :func:`sweep`, which every bulk page and
every worker run calls.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from adminpanel.mail import spool

from .csvfile import guard
from .models import BulkPlan

_NAME = re.compile(r"\A[0-9a-f]{32}\Z")
FILE = "passwords.csv"
HEADER = ("name", "password", "note")


def directory(name: str, *, create: bool = False) -> Path:
    if not _NAME.match(name):
        raise ValueError("not a spool name")
    path = spool.root() / "bulk" / name
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(plan: BulkPlan) -> Path:
    return directory(plan.spool_name) / FILE


@sensitive_variables("entries")
def add(plan: BulkPlan, entries: Iterable[tuple[str, str, str]]) -> int:
    """Append (name, password, note) lines; the file then lives another hour."""
    entries = list(entries)
    if not entries:
        return 0
    path = directory(plan.spool_name, create=True) / FILE
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        if new:
            writer.writerow(HEADER)
        for name, password, note in entries:
            # The password is written as generated: lower-case letters and digits in
            # dash-joined groups (users/password_generator.py), never a formula; a quote
            # added here would become part of the password.
            writer.writerow([guard(name), password, note])
    seconds: int = settings.PANEL_BULK_RESULT_SECONDS
    expires = timezone.now() + timedelta(seconds=seconds)
    BulkPlan.objects.filter(pk=plan.pk).update(result_expires_at=expires)
    plan.result_expires_at = expires
    return len(entries)


def available(plan: BulkPlan) -> bool:
    return (
        plan.result_expires_at is not None
        and plan.result_expires_at > timezone.now()
        and _path(plan).exists()
    )


def take(plan: BulkPlan) -> bytes | None:
    """The file's bytes, once; None if it was taken, expired or never written."""
    if not available(plan):
        return None
    taken = _path(plan).with_suffix(".taken")
    try:
        os.rename(_path(plan), taken)
    except OSError:
        return None
    try:
        return taken.read_bytes()
    finally:
        with contextlib.suppress(OSError):
            taken.unlink()
        BulkPlan.objects.filter(pk=plan.pk).update(result_expires_at=None)
        plan.result_expires_at = None


def remove(plan: BulkPlan) -> None:
    with contextlib.suppress(ValueError):
        shutil.rmtree(directory(plan.spool_name), ignore_errors=True)
    BulkPlan.objects.filter(pk=plan.pk).update(result_expires_at=None)


def sweep() -> None:
    """Delete every result file whose hour is over."""
    for plan in BulkPlan.objects.filter(result_expires_at__lte=timezone.now()):
        with contextlib.suppress(OSError, ValueError):
            _path(plan).unlink()
        BulkPlan.objects.filter(pk=plan.pk).update(result_expires_at=None)
