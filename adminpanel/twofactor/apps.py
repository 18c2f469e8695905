from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "adminpanel.twofactor"
    label = "twofactor"
    verbose_name = "Second factors of operators"
