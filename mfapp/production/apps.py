from django.apps import AppConfig


class ProductionConfig(AppConfig):
    name = "mfapp.production"
    label = "production"
