from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "adminpanel.users"
    label = "users"
    verbose_name = "Mail users"
