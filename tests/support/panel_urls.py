"""Every URL of the panel, from the resolver, for the sweeps.

Walking ``get_resolver()`` instead of listing URLs means a view added later
is swept without anyone remembering to add it. Path converters are filled
with sample values: a name the caller chooses (e.g. a user that exists on the
test server) where the converter accepts it, otherwise a generic value.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_GENERIC_SAMPLES = ("sample", "1", str(uuid.UUID(int=1)), "sample/path", "a")


@dataclass(frozen=True)
class PanelUrl:
    name: str  #: "namespace:name", or the route when the pattern has no name
    route: str  #: the pattern as written, e.g. "users/<str:name>/"
    callback: Callable[..., Any]

    def url(self, sample_name: str = "sample") -> str:
        """The route with every converter filled with a value it accepts."""
        pattern = RoutePattern(self.route)

        def fill(match: re.Match[str]) -> str:
            converter = pattern.converters[match["parameter"]]
            for candidate in (sample_name, *_GENERIC_SAMPLES):
                if re.fullmatch(converter.regex, candidate):
                    return str(converter.to_url(converter.to_python(candidate)))
            raise ValueError(f"no sample value fits <{match[0]}> in {self.route!r}")

        return "/" + _PARAMETER.sub(fill, self.route)

    @property
    def is_public(self) -> bool:
        return bool(getattr(self.callback, "panel_public", False))


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[PanelUrl]:
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            # A re_path() would need its own sample values; fail loudly so
            # whoever adds one extends this walker rather than skipping it.
            raise TypeError(f"cannot sweep regex URL pattern {entry.pattern!r}")
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else route
            yield PanelUrl(name=name, route=route, callback=entry.callback)


def panel_urls() -> list[PanelUrl]:
    return list(_walk(get_resolver().url_patterns, "", ""))
