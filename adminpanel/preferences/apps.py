from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    name = "adminpanel.preferences"
    label = "preferences"
    verbose_name = "Operators' preferences"
