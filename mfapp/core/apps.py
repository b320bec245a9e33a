from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mfapp.core"
    label = "core"
