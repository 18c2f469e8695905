from __future__ import annotations

from django import template

from adminpanel.users.links import user_url as _user_url

register = template.Library()


@register.simple_tag
def user_url(viewname: str, name: str) -> str:
    """``{% user_url "users:edit" record.name %}``: a user page's URL."""
    return _user_url(viewname, name)
