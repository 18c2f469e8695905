from django.apps import AppConfig


class ServersConfig(AppConfig):
    name = "adminpanel.servers"
    label = "servers"
    verbose_name = "pymap servers"
