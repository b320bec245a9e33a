from django.contrib import admin
from django.contrib.auth import views as auth_views
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
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", tenancy_views.tenant_switch_view, name="tenant-switch"),
    path("settings/webhooks/", include("mfapp.integrations.urls")),
    path("", tenancy_views.home_view, name="home"),
]


def handler404(request, exception):
    """Under /api/ a path that matches no route answers the API's JSON error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return page_not_found(request, exception)
