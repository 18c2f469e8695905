from django.urls import path

from . import servers, views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("health.json", views.health_status, name="health"),
    path("servers/", servers.overview, name="servers"),
]
