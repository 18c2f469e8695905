"""``{% url %}`` with its answers kept per process (a template builtin).

Django's tag calls ``reverse()`` on every render: about 17 µs of CPU each
here, and the header alone has 13 (docs/performance.md, "Where a page's time
goes"). ``reverse()`` depends only on what it is given, the script prefix
(the request's SCRIPT_NAME and the ``/s/<server>/`` prefix,
servers/middleware.py) and the URLconf, none of which changes while the
process runs, so the same question gets the same answer: it is kept, keyed
by all of them. Everything else is Django's tag (``as var``, escaping,
NoReverseMatch).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

#: (prefix, urlconf, view, args, kwargs, current app) -> URL. Pages ask a few
#: hundred distinct questions at most; the bound only guards against a leak.
_answers: dict[tuple[Any, ...], str] = {}
MAX_ANSWERS = 5000


def _current_app(context: Context) -> str | None:
    """As Django's tag finds it."""
    try:
        current: str | None = context.request.current_app  # type: ignore[attr-defined]
    except AttributeError:
        try:
            current = context.request.resolver_match.namespace  # type: ignore[attr-defined]
        except AttributeError:
            current = None
    return current


def cached_reverse(view: str, args: list[Any], kwargs: dict[str, Any], app: str | None) -> str:
    try:
        key = (
            get_script_prefix(),
            get_urlconf(),
            view,
            tuple(args),
            tuple(sorted(kwargs.items())),
            app,
        )
        hash(key)
    except TypeError:  # an argument that cannot be a key: ask Django each time
        return reverse(view, args=args, kwargs=kwargs, current_app=app)
    found = _answers.get(key)
    if found is None:
        found = reverse(view, args=args, kwargs=kwargs, current_app=app)
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = found
    return found


class CachedURLNode(URLNode):
    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        url = ""
        try:
            url = cached_reverse(
                self.view_name.resolve(context), args, kwargs, _current_app(context)
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> CachedURLNode:
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
