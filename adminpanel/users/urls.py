"""User pages. The user name is always the ``?name=`` query parameter (see links.py)."""

from django.urls import path

from .views import create, delete, edit, lookup, password

app_name = "users"
urlpatterns = [
    path("", lookup.index, name="index"),
    path("lookup/", lookup.lookup, name="lookup"),
    path("user/", lookup.detail, name="detail"),
    path("new/", create.create, name="create"),
    path("edit/", edit.edit, name="edit"),
    path("password/", password.change_password, name="password"),
    path("delete/", delete.delete, name="delete"),
]
