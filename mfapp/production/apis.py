"""Batches, their operations, quality checks and material consumption for integrations.
Every status change is an action calling the same service as the browser."""

import django_filters
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
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.production.selectors import (
    batch_get,
    batch_list,
    material_consumption_get,
    material_consumption_list,
    operation_get,
    operation_list,
    quality_check_get,
    quality_check_list,
)
from mfapp.production.services import (
    batch_cancel,
    batch_complete,
    batch_create,
    batch_schedule,
    batch_start,
    batch_submit_for_quality_check,
    material_consumption_record,
    operation_finish,
    operation_pause,
    operation_resume,
    operation_start,
    quality_check_record,
)

MAX_UNITS = 2_147_483_647  # a PositiveIntegerField


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


# --- batches ---------------------------------------------------------------------------------
class BatchSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(
        source="order_line.order_id",
        read_only=True,
        allow_null=True,
        help_text="The order this batch is made for; empty for a batch made to stock.",
    )

    class Meta:
        model = Batch
        exclude = ("tenant", "version")  # version: internal concurrency check, not API (yet)


class BatchCreateInputSerializer(serializers.Serializer):
    """A batch made to stock; its operations are copied from the product's routing."""

    product_id = related_id()
    site_id = related_id()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)
    lot_code = serializers.CharField(
        max_length=40, required=False, help_text="Left out: the next L<yymmdd>-<n> code."
    )
    release_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Not to start before."
    )


class BatchFilter(TenantFilterSet):
    status = django_filters.ChoiceFilter(choices=Batch.Status.choices)
    site = IdFilter(field_name="site_id")
    product = IdFilter(field_name="product_id")
    order = IdFilter(field_name="order_line__order_id")


class BatchViewSet(TenantViewSet):
    """Production lots. Made-to-order batches come from confirming an order; create plans a
    batch made to stock."""

    output_serializer = BatchSerializer
    input_serializer = BatchCreateInputSerializer
    filterset_class = BatchFilter
    ordering_fields = ["lot_code", "status", "release_at", "created_at", "updated_at"]
    action_serializers = {"cancel": ReasonInputSerializer}

    def tenant_queryset(self):
        return batch_list(tenant=self.tenant, with_related=False)

    def get_object(self):
        return batch_get(tenant=self.tenant, batch_id=self.kwargs["pk"])

    def respond_batch(self, batch: Batch, code: int = status.HTTP_200_OK) -> Response:
        return self.respond(batch_get(tenant=self.tenant, batch_id=batch.pk), code)

    def create(self, request: Request) -> Response:
        batch = batch_create(actor=self.actor, **self.validated())
        return self.respond_batch(batch, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: int) -> Response:
        """planned → scheduled, once every operation has a machine."""
        return self.respond_batch(batch_schedule(actor=self.actor, batch=self.get_object()))

    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: int) -> Response:
        """planned or scheduled → in progress (not before its release time)."""
        return self.respond_batch(batch_start(actor=self.actor, batch=self.get_object()))

    @action(detail=True, methods=["post"], url_path="submit-for-quality-check")
    def submit_for_quality_check(self, request: Request, pk: int) -> Response:
        """in progress → quality check, once every operation is done."""
        batch = batch_submit_for_quality_check(actor=self.actor, batch=self.get_object())
        return self.respond_batch(batch)

    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: int) -> Response:
        """quality check → completed, unless the latest check of a characteristic failed."""
        return self.respond_batch(batch_complete(actor=self.actor, batch=self.get_object()))

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        """Any open state → cancelled, with its open operations."""
        data = self.validated(ReasonInputSerializer)
        return self.respond_batch(batch_cancel(actor=self.actor, batch=self.get_object(), **data))


# --- operations ------------------------------------------------------------------------------
class OperationStartInputSerializer(serializers.Serializer):
    machine_id = related_id(
        required=False,
        allow_null=True,
        help_text="Left out: the machine the operation is planned on.",
    )


class OperationFinishInputSerializer(serializers.Serializer):
    quantity_good = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)
    quantity_scrap = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, default=0)


class OperationFilter(TenantFilterSet):
    status = django_filters.ChoiceFilter(choices=BatchOperation.Status.choices)
    batch = IdFilter(field_name="batch_id")
    machine = IdFilter(field_name="machine_id")
    planned_from = UtcDateTimeFilter(
        field_name="planned_start", lookup_expr="gte", label="Planned to start at or after."
    )
    planned_to = UtcDateTimeFilter(
        field_name="planned_start", lookup_expr="lt", label="Planned to start before."
    )


class OperationViewSet(TenantViewSet):
    """The routing steps of each batch, run on machines: start, pause, resume, finish."""

    output_serializer = output_serializer_for(BatchOperation)
    filterset_class = OperationFilter
    ordering_fields = ["planned_start", "actual_start", "sequence", "created_at", "updated_at"]
    action_serializers = {
        "start": OperationStartInputSerializer,
        "pause": ReasonInputSerializer,
        "finish": OperationFinishInputSerializer,
    }

    def tenant_queryset(self):
        return operation_list(tenant=self.tenant)

    def get_object(self):
        return operation_get(tenant=self.tenant, operation_id=self.kwargs["pk"])

    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: int) -> Response:
        """pending → running on a capable, available machine of the batch's site."""
        data = self.validated(OperationStartInputSerializer)
        return self.respond(operation_start(actor=self.actor, operation=self.get_object(), **data))

    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: int) -> Response:
        """running → paused; the machine is free again."""
        data = self.validated(ReasonInputSerializer)
        return self.respond(operation_pause(actor=self.actor, operation=self.get_object(), **data))

    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: int) -> Response:
        """paused → running, when its machine is available."""
        return self.respond(operation_resume(actor=self.actor, operation=self.get_object()))

    @action(detail=True, methods=["post"])
    def finish(self, request: Request, pk: int) -> Response:
        """running → done with the good and scrapped units; the last one moves the batch on
        to its quality check."""
        data = self.validated(OperationFinishInputSerializer)
        return self.respond(operation_finish(actor=self.actor, operation=self.get_object(), **data))


# --- quality checks --------------------------------------------------------------------------
class QualityCheckFilter(TenantFilterSet):
    batch = IdFilter(field_name="batch_id")
    passed = django_filters.BooleanFilter()


class QualityCheckViewSet(TenantViewSet):
    """Measurements of a batch; passed when |measured - target| <= tolerance."""

    output_serializer = output_serializer_for(QualityCheck)
    input_serializer = input_serializer_for(
        QualityCheck,
        ("characteristic", "target", "tolerance", "measured", "unit", "notes"),
        batch_id=related_id(),
        operation_id=related_id(required=False, allow_null=True),
    )
    filterset_class = QualityCheckFilter
    ordering_fields = ["checked_at", "created_at", "updated_at"]

    def tenant_queryset(self):
        return quality_check_list(tenant=self.tenant)

    def get_object(self):
        return quality_check_get(tenant=self.tenant, quality_check_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        data = self.validated()
        batch = batch_get(tenant=self.tenant, batch_id=data.pop("batch_id"))
        check = quality_check_record(actor=self.actor, batch=batch, **data)
        return self.respond(check, status.HTTP_201_CREATED)


# --- material consumption --------------------------------------------------------------------
class MaterialConsumptionFilter(TenantFilterSet):
    batch = IdFilter(field_name="batch_id")
    material = IdFilter(field_name="material_id")


class MaterialConsumptionViewSet(TenantViewSet):
    """What each batch used; recording it takes the quantity out of stock."""

    output_serializer = output_serializer_for(MaterialConsumption)
    input_serializer = input_serializer_for(
        MaterialConsumption,
        ("quantity", "material_lot"),
        batch_id=related_id(),
        material_id=related_id(),
    )
    filterset_class = MaterialConsumptionFilter
    ordering_fields = ["recorded_at", "created_at", "updated_at"]

    def tenant_queryset(self):
        return material_consumption_list(tenant=self.tenant)

    def get_object(self):
        return material_consumption_get(
            tenant=self.tenant, material_consumption_id=self.kwargs["pk"]
        )

    def create(self, request: Request) -> Response:
        data = self.validated()
        batch = batch_get(tenant=self.tenant, batch_id=data.pop("batch_id"))
        consumption = material_consumption_record(actor=self.actor, batch=batch, **data)
        return self.respond(consumption, status.HTTP_201_CREATED)
