from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("export.csv", views.export, {"kind": "csv"}, name="export-csv"),
    path("export.json", views.export, {"kind": "json"}, name="export-json"),
]
