"""Issuing a pymap token, and reading and narrowing one (docs/tokens.md)."""

from django.urls import path

from . import views

app_name = "tokens"
urlpatterns = [
    path("", views.issue, name="issue"),
    path("inspect/", views.inspect, name="inspect"),
]
