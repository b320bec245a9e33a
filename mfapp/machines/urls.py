"""Browser pages of the machines app (the `machines` URL namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "machines"

urlpatterns: list = []
