"""Browser pages of the scheduling app (the `scheduling` URL namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "scheduling"

urlpatterns: list = []
