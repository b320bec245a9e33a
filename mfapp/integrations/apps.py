from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "mfapp.integrations"
    label = "integrations"
