"""Template filters for how the panel shows sizes and times (``{% load display %}``)."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

register = template.Library()


@register.filter
def byte_size(value: int | None) -> str:
    """``571 bytes``; from 1 KB on also the exact count: ``2.2 MB (2,345,678 bytes)``."""
    if value is None:
        return ""
    if value < 1024:
        return f"{value} byte{'' if value == 1 else 's'}"
    return f"{filesizeformat(value)} ({value:,} bytes)"
