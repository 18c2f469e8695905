from __future__ import annotations

from django import template

from adminpanel.accounts.session import Operator
from adminpanel.audit.links import history_url
from adminpanel.users import recent, wording
from adminpanel.users.links import user_url as _user_url

register = template.Library()


@register.simple_tag
def user_url(viewname: str, name: str) -> str:
    """``{% user_url "users:edit" record.name %}``: a user page's URL."""
    return _user_url(viewname, name)


@register.simple_tag
def recent_user_names(operator: Operator | None) -> list[str]:
    """What the header's search box suggests (users/recent.py); none before sign-in."""
    if operator is None or not operator.is_admin:
        return []
    return recent.suggested_names(operator)


@register.simple_tag
def user_history_url(name: str) -> str:
    """``{% user_history_url name %}``: the audit page narrowed to that user."""
    return history_url(name)


@register.filter
def changed_in_words(fields: list[str]) -> str:
    """``{{ event.changed_fields|changed_in_words }}``: "the roles and the parameter “quota”"."""
    return wording.changed_in_words(fields) if fields else ""
