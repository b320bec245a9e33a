from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "mfapp.scheduling"
    label = "scheduling"
