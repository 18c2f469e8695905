"""Request and response plumbing around the apps: the ASGI body guard and
size limits, the request threads, no-store headers and the error pages."""
