"""Report pages (the `sustainability` URL namespace, mounted at reports/)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "sustainability"

urlpatterns: list = []
