from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "adminpanel.dashboard"
    label = "dashboard"
