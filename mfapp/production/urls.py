"""Browser pages of the production app (the `production` URL namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "production"

urlpatterns: list = []
