from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mfapp.audit"
    label = "audit"
