"""The operator's own filters. The user is ``?name=``, a script ``?script=``."""

from django.urls import path

from . import views

app_name = "filters"
urlpatterns = [
    path("", views.script_list, name="list"),
    path("edit/", views.edit, name="edit"),
    path("rules/", views.rule_builder, name="rules"),
    path("activate/", views.activate, name="activate"),
    path("delete/", views.delete, name="delete"),
    path("try/", views.try_it, name="try"),
]
