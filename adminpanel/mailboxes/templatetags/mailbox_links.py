from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def mailbox_url(viewname: str, name: str, mailbox: str) -> str:
    """``{% mailbox_url "mailboxes:detail" user mailbox %}``: ``?name=..&mailbox=..``."""
    return f"{reverse(viewname)}?{urlencode({'name': name, 'mailbox': mailbox})}"
