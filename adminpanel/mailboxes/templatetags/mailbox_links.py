from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def mailbox_url(viewname: str, name: str, mailbox: str) -> str:
    """``{% mailbox_url "mailboxes:detail" user mailbox %}``: ``?name=..&mailbox=..``."""
    return f"{reverse(viewname)}?{urlencode({'name': name, 'mailbox': mailbox})}"


@register.simple_tag
def message_url(name: str, mailbox: str, uid: int) -> str:
    """``{% message_url user mailbox uid %}``: the page that opens one message."""
    query = urlencode({"name": name, "mailbox": mailbox, "uid": uid})
    return f"{reverse('mailboxes:message')}?{query}"
