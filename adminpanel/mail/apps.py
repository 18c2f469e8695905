from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "adminpanel.mail"
    label = "mail"
    verbose_name = "Mail delivery and import"

    def ready(self) -> None:
        from . import spool

        # Uploads stream into the spool before any view runs, so its
        # directories must exist from the start.
        spool.ensure_directories()
