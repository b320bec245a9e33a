"""The shop-floor pages (mounted under the `shopfloor` namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "shopfloor"

urlpatterns: list = []
