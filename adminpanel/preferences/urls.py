from django.urls import path

from . import views

app_name = "preferences"
urlpatterns = [
    path("time-zone/", views.time_zone, name="time-zone"),
]
