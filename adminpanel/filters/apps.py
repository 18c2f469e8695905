from django.apps import AppConfig


class FiltersConfig(AppConfig):
    name = "adminpanel.filters"
    label = "filters"
    verbose_name = "A user's Sieve filters over ManageSieve"
