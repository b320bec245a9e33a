"""Only the dashboard and the account pages: none of the pages the dashboard links to."""

from django.urls import include, path

from mfapp.tenancy import views as tenancy_views

urlpatterns = [
    path("accounts/", include("mfapp.tenancy.account_urls")),
    path("tenant/switch/", tenancy_views.tenant_switch_view, name="tenant-switch"),
    path("", include("mfapp.dashboard.urls")),
]
