from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "mfapp.dashboard"
    label = "dashboard"
