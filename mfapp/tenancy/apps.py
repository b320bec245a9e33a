from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "mfapp.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
