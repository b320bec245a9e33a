from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "mfapp.orders"
    label = "orders"
