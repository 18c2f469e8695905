from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def script_url(viewname: str, name: str, script: str) -> str:
    """``{% script_url "filters:edit" user script %}``: ``?name=..&script=..``."""
    return f"{reverse(viewname)}?{urlencode({'name': name, 'script': script})}"
