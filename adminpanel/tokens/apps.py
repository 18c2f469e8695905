from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "adminpanel.tokens"
    label = "tokens"
    verbose_name = "Tokens"
