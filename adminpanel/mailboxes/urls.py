"""A user's mailboxes. The user is the ``?name=`` query parameter, the mailbox ``?mailbox=``,
a message ``?uid=``."""

from django.urls import path

from . import views

app_name = "mailboxes"
urlpatterns = [
    path("", views.mailbox_list, name="list"),
    path("mailbox/", views.mailbox_detail, name="detail"),
    path("mailbox/message/", views.message, name="message"),
    path("create/", views.create, name="create"),
    path("rename/", views.rename, name="rename"),
    path("delete/", views.delete, name="delete"),
    path("unlock/", views.unlock, name="unlock"),
]
