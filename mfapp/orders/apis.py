"""Customers and orders for integrations: the same services as the browser, nothing more."""

import django_filters
from django.db.models import Q
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.core.api import (
    IdFilter,
    TenantFilterSet,
    TenantViewSet,
    UtcDateTimeFilter,
    input_serializer_for,
    output_serializer_for,
    related_id,
)
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.orders.selectors import customer_get, customer_list, order_get, order_list
from mfapp.orders.services import (
    CUSTOMER_FIELDS,
    MAX_LINES_PER_ORDER,
    customer_create,
    customer_delete,
    customer_update,
    order_cancel,
    order_confirm,
    order_create,
    order_delete,
    order_line_add,
    order_ship,
    order_update,
)

# Related ids are plain numbers, resolved by the services within the tenant; the bounds keep
# absurd values out of the database layer (a too large id is a 400, an unknown one a 404).
MAX_UNITS = 2_147_483_647  # a PositiveIntegerField, whatever the database


class CustomerFilter(TenantFilterSet):
    country = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search", label="Part of the name or email.")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class CustomerViewSet(TenantViewSet):
    output_serializer = output_serializer_for(Customer)
    input_serializer = input_serializer_for(Customer, tuple(sorted(CUSTOMER_FIELDS)))
    filterset_class = CustomerFilter
    ordering_fields = ["name", "country", "created_at", "updated_at"]

    def tenant_queryset(self):
        return customer_list(tenant=self.tenant)

    def get_object(self):
        return customer_get(tenant=self.tenant, customer_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        customer = customer_create(actor=self.actor, **self.validated())
        return self.respond(customer, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        fields = self.validated(partial=True)
        customer = customer_update(actor=self.actor, customer=self.get_object(), **fields)
        return self.respond(customer)

    def destroy(self, request: Request, pk: int) -> Response:
        customer_delete(actor=self.actor, customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


OrderLineSerializer = output_serializer_for(OrderLine)


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        exclude = ("tenant",)


OrderLineInputSerializer = input_serializer_for(
    OrderLine,
    ("unit_price",),
    product_id=related_id(),
    quantity=serializers.IntegerField(min_value=1, max_value=MAX_UNITS),
)
OrderCreateInputSerializer = input_serializer_for(
    Order,
    ("due_date", "priority", "notes", "external_ref"),
    customer_id=related_id(),
    site_id=related_id(),
    number=serializers.CharField(
        max_length=40, required=False, help_text="Left out: the next SO-<year>-<n> number."
    ),
    lines=OrderLineInputSerializer(
        many=True,
        required=False,
        max_length=MAX_LINES_PER_ORDER,
        help_text=f"At most {MAX_LINES_PER_ORDER} lines; an order never has more.",
    ),
)


class OrderUpdateInputSerializer(serializers.ModelSerializer):
    """Due date, priority and notes while the order is open; number and external reference
    only in draft."""

    class Meta:
        model = Order
        fields = ("due_date", "priority", "notes", "number", "external_ref")
        validators: list = []  # no DRF unique validators: they would query without the tenant


# What a PATCH could be expected to change but does not: said, rather than silently dropped.
FIXED_ON_UPDATE = {
    "customer_id": "An order keeps its customer; cancel it and create another.",
    "site_id": "An order keeps its site; cancel it and create another.",
    "lines": "Add lines with POST /api/v1/orders/{id}/lines/ while the order is a draft.",
    "status": "Change the status with the confirm, cancel and ship actions.",
}


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class OrderFilter(TenantFilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    site = IdFilter(field_name="site_id")
    customer = IdFilter(field_name="customer_id")
    due_before = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lt", label="Due strictly before this date."
    )
    due_after = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gt", label="Due strictly after this date."
    )
    created_since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")


class OrderViewSet(TenantViewSet):
    """Orders with their lines. Status changes are actions: confirm (plans the batches),
    cancel, ship; lines are added to drafts."""

    output_serializer = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["number", "status", "priority", "due_date", "created_at", "updated_at"]
    input_serializer = OrderCreateInputSerializer
    update_serializer = OrderUpdateInputSerializer
    action_serializers = {"cancel": OrderCancelInputSerializer, "lines": OrderLineInputSerializer}

    def tenant_queryset(self):
        return order_list(tenant=self.tenant, with_lines=True, with_related=False)

    def get_object(self):
        return order_get(tenant=self.tenant, order_id=self.kwargs["pk"])

    def respond_order(self, order: Order, code: int = status.HTTP_200_OK) -> Response:
        """The order as stored now, with its lines."""
        return self.respond(order_get(tenant=self.tenant, order_id=order.pk), code)

    def create(self, request: Request) -> Response:
        order = order_create(actor=self.actor, **self.validated())
        return self.respond_order(order, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        sent = request.data if isinstance(request.data, dict) else {}  # a list fails validation
        fixed = sorted(set(sent) & set(FIXED_ON_UPDATE))
        if fixed:
            raise serializers.ValidationError({name: [FIXED_ON_UPDATE[name]] for name in fixed})
        fields = self.validated(partial=True)
        return self.respond_order(order_update(actor=self.actor, order=self.get_object(), **fields))

    def destroy(self, request: Request, pk: int) -> Response:
        order_delete(actor=self.actor, order=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: int) -> Response:
        """draft → confirmed: plans the batches of every line."""
        return self.respond_order(order_confirm(actor=self.actor, order=self.get_object()))

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        """Any state before shipped → cancelled; the order's open batches are cancelled too."""
        data = self.validated(OrderCancelInputSerializer)
        order = order_cancel(actor=self.actor, order=self.get_object(), **data)
        return self.respond_order(order)

    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk: int) -> Response:
        """ready → shipped."""
        return self.respond_order(order_ship(actor=self.actor, order=self.get_object()))

    @action(detail=True, methods=["post"])
    def lines(self, request: Request, pk: int) -> Response:
        """Add a line to a draft order; answers the whole order."""
        data = self.validated(OrderLineInputSerializer)
        order = self.get_object()
        order_line_add(actor=self.actor, order=order, **data)
        return self.respond_order(order)
