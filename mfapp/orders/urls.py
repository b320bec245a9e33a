"""Browser pages of the orders app (the `orders` URL namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "orders"

urlpatterns: list = []
