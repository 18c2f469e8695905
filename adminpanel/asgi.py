"""ASGI entry point, the production one: `uvicorn adminpanel.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminpanel.settings")
application = get_asgi_application()
