from django.apps import AppConfig


class MachinesConfig(AppConfig):
    name = "mfapp.machines"
    label = "machines"
