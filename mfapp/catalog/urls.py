"""Browser pages of the catalog app (the `catalog` URL namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "catalog"

urlpatterns: list = []
