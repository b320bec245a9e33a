from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mfapp.core import health
from mfapp.tenancy import views as tenancy_views

admin.site.site_header = "mfapp platform administration"
admin.site.site_title = "mfapp admin"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("mfapp.api_urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("mfapp.tenancy.account_urls")),
    path("tenant/switch/", tenancy_views.tenant_switch_view, name="tenant-switch"),
    path("settings/webhooks/", include("mfapp.integrations.urls")),
    path("settings/audit/", include("mfapp.audit.urls")),
    path("settings/", include("mfapp.tenancy.urls")),
    path("", include("mfapp.catalog.urls")),  # products/ and materials/
    path("machines/", include("mfapp.machines.urls")),
    path("orders/", include("mfapp.orders.urls")),
    path("batches/", include("mfapp.production.urls")),
    path("shop-floor/", include("mfapp.production.shopfloor_urls")),
    path("plan/", include("mfapp.scheduling.urls")),
    path("reports/", include("mfapp.sustainability.urls")),
    path("", include("mfapp.dashboard.urls")),
]


def handler404(request, exception):
    """Under /api/ a path that matches no route answers the API's JSON error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return page_not_found(request, exception)
