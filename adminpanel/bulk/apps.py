from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "adminpanel.bulk"
    label = "bulk"
    verbose_name = "Many users at once (CSV import and export)"
