"""``{% shown_command %}``: the pymap-admin command a write left for this page."""

from __future__ import annotations

from typing import Any

from django import template

from ..shown_command import take

register = template.Library()


@register.inclusion_tag("cli/_command.html", takes_context=True)
def shown_command(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    return {"command": take(request) if request is not None else None}
