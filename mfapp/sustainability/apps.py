from django.apps import AppConfig


class SustainabilityConfig(AppConfig):
    name = "mfapp.sustainability"
    label = "sustainability"
    verbose_name = "Sustainability"
