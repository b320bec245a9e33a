from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "mfapp.catalog"
    label = "catalog"
