"""Every resource of the integrations API, under /api/v1/. Each app lists its own routes in
`<app>/api_urls.py` as (prefix, viewset, basename)."""

from rest_framework.routers import SimpleRouter

from mfapp.catalog.api_urls import routes as catalog_routes
from mfapp.integrations.api_urls import routes as integrations_routes
from mfapp.machines.api_urls import routes as machines_routes
from mfapp.orders.api_urls import routes as orders_routes
from mfapp.production.api_urls import routes as production_routes
from mfapp.scheduling.api_urls import routes as scheduling_routes
from mfapp.sustainability.api_urls import routes as sustainability_routes
from mfapp.tenancy.api_urls import routes as tenancy_routes

router = SimpleRouter(trailing_slash=True)
for prefix, viewset, basename in (
    *tenancy_routes,
    *catalog_routes,
    *machines_routes,
    *orders_routes,
    *production_routes,
    *scheduling_routes,
    *sustainability_routes,
    *integrations_routes,
):
    router.register(prefix, viewset, basename=basename)

urlpatterns = router.urls
