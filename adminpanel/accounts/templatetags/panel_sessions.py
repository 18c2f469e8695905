"""``{% if operator|may_end_sessions_of:name %}``: whether the page offers
"sign out everywhere" for that user (the view checks the same rule)."""

from __future__ import annotations

from django import template

from adminpanel.accounts.session import Operator
from adminpanel.accounts.user_sessions import may_end_sessions_of as _may_end

register = template.Library()


@register.filter
def may_end_sessions_of(operator: Operator | None, name: str) -> bool:
    return operator is not None and _may_end(operator, name)
