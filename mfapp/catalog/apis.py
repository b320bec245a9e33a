import django_filters
from django.db.models import Q
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.catalog.selectors import (
    bom_line_get,
    bom_line_list,
    material_get,
    material_list,
    product_get,
    product_list,
    routing_step_get,
    routing_step_list,
)
from mfapp.catalog.services import (
    MATERIAL_FIELDS,
    PRODUCT_FIELDS,
    bom_line_create,
    bom_line_delete,
    bom_line_update,
    material_adjust_stock,
    material_create,
    material_delete,
    material_update,
    product_create,
    product_delete,
    product_update,
    routing_step_create,
    routing_step_delete,
    routing_step_update,
)
from mfapp.core.api import (
    IdFilter,
    TenantFilterSet,
    TenantViewSet,
    input_serializer_for,
    output_serializer_for,
    related_id,
)


class MaterialFilter(TenantFilterSet):
    unit = django_filters.ChoiceFilter(choices=Material.Unit.choices)
    code = django_filters.CharFilter()


class MaterialViewSet(TenantViewSet):
    output_serializer = output_serializer_for(Material)
    input_serializer = input_serializer_for(Material, tuple(sorted(MATERIAL_FIELDS)))
    filterset_class = MaterialFilter
    ordering_fields = ["code", "name", "stock_on_hand", "updated_at"]

    class StockAdjustment(serializers.Serializer):
        delta = serializers.DecimalField(max_digits=10, decimal_places=3)
        reason = serializers.CharField(max_length=300)

    action_serializers = {"adjust_stock": StockAdjustment}

    def tenant_queryset(self):
        return material_list(tenant=self.tenant)

    def get_object(self):
        return material_get(tenant=self.tenant, material_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        material = material_create(actor=self.actor, **self.validated())
        return self.respond(material, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        fields = self.validated(partial=True)
        return self.respond(material_update(actor=self.actor, material=self.get_object(), **fields))

    def destroy(self, request: Request, pk: int) -> Response:
        material_delete(actor=self.actor, material=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="adjust-stock")
    def adjust_stock(self, request: Request, pk: int) -> Response:
        """Book a receipt (+) or a correction (-) of stock, with its reason."""
        data = self.validated(self.StockAdjustment)
        material = material_adjust_stock(actor=self.actor, material=self.get_object(), **data)
        return self.respond(material)


class ProductFilter(TenantFilterSet):
    search = django_filters.CharFilter(method="filter_search")
    is_active = django_filters.BooleanFilter()
    sku = django_filters.CharFilter()

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))


class ProductViewSet(TenantViewSet):
    output_serializer = output_serializer_for(Product)
    input_serializer = input_serializer_for(Product, tuple(sorted(PRODUCT_FIELDS)))
    filterset_class = ProductFilter
    ordering_fields = ["sku", "name", "unit_price", "updated_at", "created_at"]

    def tenant_queryset(self):
        return product_list(tenant=self.tenant)

    def get_object(self):
        return product_get(tenant=self.tenant, product_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        product = product_create(actor=self.actor, **self.validated())
        return self.respond(product, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        fields = self.validated(partial=True)
        return self.respond(product_update(actor=self.actor, product=self.get_object(), **fields))

    def destroy(self, request: Request, pk: int) -> Response:
        product_delete(actor=self.actor, product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductChildFilter(TenantFilterSet):
    product = IdFilter(field_name="product_id")


class RoutingStepViewSet(TenantViewSet):
    output_serializer = output_serializer_for(RoutingStep)
    input_serializer = input_serializer_for(
        RoutingStep,
        ("name", "capability", "setup_minutes", "run_minutes_per_unit"),
        sequence=serializers.IntegerField(
            min_value=1, max_value=100_000, required=False, help_text="Default: last + 10."
        ),
        product_id=related_id(),
        material_id=related_id(required=False, allow_null=True),
    )
    filterset_class = ProductChildFilter
    ordering_fields = ["sequence", "updated_at"]

    def tenant_queryset(self):
        return routing_step_list(tenant=self.tenant)

    def get_object(self):
        return routing_step_get(tenant=self.tenant, routing_step_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        data = self.validated()
        product = product_get(tenant=self.tenant, product_id=data.pop("product_id"))
        step = routing_step_create(actor=self.actor, product=product, **data)
        return self.respond(step, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        data = self.validated(partial=True)
        if "product_id" in data:
            raise serializers.ValidationError(
                {"product_id": ["A step cannot move to another product."]}
            )
        step = routing_step_update(actor=self.actor, routing_step=self.get_object(), **data)
        return self.respond(step)

    def destroy(self, request: Request, pk: int) -> Response:
        routing_step_delete(actor=self.actor, routing_step=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class BomLineViewSet(TenantViewSet):
    output_serializer = output_serializer_for(BomLine)
    input_serializer = input_serializer_for(
        BomLine,
        ("quantity_per_unit", "scrap_allowance_percent"),
        product_id=related_id(),
        material_id=related_id(),
    )
    filterset_class = ProductChildFilter
    ordering_fields = ["id", "updated_at"]

    def tenant_queryset(self):
        return bom_line_list(tenant=self.tenant)

    def get_object(self):
        return bom_line_get(tenant=self.tenant, bom_line_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        data = self.validated()
        product = product_get(tenant=self.tenant, product_id=data.pop("product_id"))
        line = bom_line_create(actor=self.actor, product=product, **data)
        return self.respond(line, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        data = self.validated(partial=True)
        if {"product_id", "material_id"} & set(data):
            raise serializers.ValidationError(
                {"material_id": ["Delete the line and add a new one to change the material."]}
            )
        return self.respond(bom_line_update(actor=self.actor, bom_line=self.get_object(), **data))

    def destroy(self, request: Request, pk: int) -> Response:
        bom_line_delete(actor=self.actor, bom_line=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
