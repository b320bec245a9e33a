"""Sites for integrations: the same services as the browser, nothing more."""

import django_filters
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.core.api import (
    TenantFilterSet,
    TenantViewSet,
    input_serializer_for,
    output_serializer_for,
)
from mfapp.tenancy.models import Site
from mfapp.tenancy.selectors import site_get, site_list
from mfapp.tenancy.services import SITE_FIELDS, site_create, site_delete, site_update


class SiteFilter(TenantFilterSet):
    country = django_filters.CharFilter(label="Two-letter country code, e.g. DE.")


class SiteViewSet(TenantViewSet):
    """A tenant's workshops. A site still used by machines or orders cannot be deleted (409)."""

    output_serializer = output_serializer_for(Site)
    input_serializer = input_serializer_for(Site, ("name", "country", *sorted(SITE_FIELDS)))
    filterset_class = SiteFilter
    ordering_fields = ["name", "country", "created_at", "updated_at"]

    def tenant_queryset(self):
        return site_list(tenant=self.tenant)

    def get_object(self):
        return site_get(tenant=self.tenant, site_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        site = site_create(actor=self.actor, **self.validated())
        return self.respond(site, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        fields = self.validated(partial=True)
        return self.respond(site_update(actor=self.actor, site=self.get_object(), **fields))

    def destroy(self, request: Request, pk: int) -> Response:
        site_delete(actor=self.actor, site=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
