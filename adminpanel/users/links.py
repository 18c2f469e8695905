"""URLs of the user pages.

A user name may hold any visible character ("/", "%", "?", "..", "#"), so it
travels as a query parameter, encoded by urlencode, rather than as a path
segment that browsers and proxies would normalise.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


def user_url(viewname: str, name: str) -> str:
    """``user_url("users:detail", "a/b")`` -> ``/users/user/?name=a%2Fb``."""
    return f"{reverse(viewname)}?{urlencode({'name': name})}"
