from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UsersConfig(AppConfig):
    name = "adminpanel.users"
    label = "users"
    verbose_name = "Mail users"

    def ready(self) -> None:
        from . import recent

        # The suggestions a process keeps must not outlive a database made anew.
        post_migrate.connect(recent.forget, dispatch_uid="users-recent-migrate")
