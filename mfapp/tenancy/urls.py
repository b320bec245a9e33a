"""Settings pages of the tenant: sites and members (mounted under the `tenancy` namespace)."""

from django.urls import path  # noqa: F401  (filled in as the pages are built)

app_name = "tenancy"

urlpatterns: list = []
