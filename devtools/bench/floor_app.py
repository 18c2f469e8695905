"""The floor of the web stack: a one-view Django app for ``make bench``.

The same uvicorn (uvloop, httptools) and Django's ASGI handler as the panel,
and one synchronous view (Django runs it on a thread, as it runs the panel's)
that answers a small page: no middleware, templates, session or database.
What the panel's pages cost beyond this is the panel's own.

``python -m uvicorn devtools.bench.floor_app:application --workers 1``
"""

from __future__ import annotations

import django
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path

PAGE = "<!doctype html><html lang=en><title>floor</title><p>The floor of the web stack.</p>"


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


urlpatterns = [path("", index)]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        SECRET_KEY="the floor app keeps no secret",  # noqa: S106
    )
    django.setup()

application = get_asgi_application()
