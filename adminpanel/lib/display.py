"""Template filters for how the panel shows sizes and times (``{% load display %}``)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def byte_size(value: int | None) -> str:
    """``571 bytes``; from 1 KB on also the exact count: ``2.2 MB (2,345,678 bytes)``."""
    if value is None:
        return ""
    if value < 1024:
        return f"{value} byte{'' if value == 1 else 's'}"
    return f"{filesizeformat(value)} ({value:,} bytes)"


def full_time(value: datetime) -> str:
    """``2026-12-01 21:38:01 CET``, in the operator's zone."""
    return date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def compact_time(value: datetime, now: datetime | None = None) -> str:
    """As short as is clear beside today's date: ``21:38`` today, ``1 Dec 21:38``
    this year, ``2025-12-01`` before; in the operator's zone."""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now())
    if local.date() == today.date():
        return date_format(local, "H:i")
    if local.year == today.year:
        return date_format(local, "j M H:i")
    return date_format(local, "Y-m-d")


@register.filter
def time_tag(value: datetime | None) -> SafeString | str:
    """A ``<time>`` with the compact text; the full time is its tooltip and what
    screen readers read."""
    if value is None:
        return ""
    return format_html(
        '<time datetime="{}" title="{}"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span></time>',
        value.isoformat(),
        full_time(value),
        compact_time(value),
        full_time(value),
    )
