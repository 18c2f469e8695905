from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ServersConfig(AppConfig):
    name = "adminpanel.servers"
    label = "servers"
    verbose_name = "pymap servers"

    def ready(self) -> None:
        from . import knowledge
        from .models import ServerKnowledge

        # What a process keeps of the table must not outlive a write past
        # knowledge.learn() or a database made anew.
        post_migrate.connect(knowledge.forget, dispatch_uid="servers-knowledge-migrate")
        for signal in (post_save, post_delete):
            signal.connect(knowledge.forget, sender=ServerKnowledge, dispatch_uid=f"sk-{signal}")
