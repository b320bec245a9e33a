"""Machines, their maintenance windows and energy readings for integrations: the same
services as the browser, nothing more."""

from datetime import datetime
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.catalog.capabilities import Capability
from mfapp.core.api import (
    IdFilter,
    TenantFilterSet,
    TenantViewSet,
    UtcDateTimeFilter,
    input_serializer_for,
    output_serializer_for,
    related_id,
)
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.machines.selectors import (
    energy_reading_get,
    energy_reading_list,
    machine_get,
    machine_list,
    maintenance_window_get,
    maintenance_window_list,
)
from mfapp.machines.services import (
    MACHINE_FIELDS,
    MANUAL_STATUSES,
    MAX_READINGS_PER_CALL,
    energy_reading_record,
    energy_reading_record_many,
    machine_change_status,
    machine_create,
    machine_delete,
    machine_update,
    maintenance_window_create,
    maintenance_window_delete,
)


class AwareDateTimeField(serializers.DateTimeField):
    """A timestamp with its time zone (`Z` or `+02:00`): a meter's local time without an
    offset is ambiguous, and guessing would shift its energy by hours."""

    default_error_messages = {"naive": "Give the time zone too, for example 2031-03-03T08:00:00Z."}

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            self.fail("naive")
        return super().enforce_timezone(value)


# Enum names in the schema: drf-spectacular names a choice set after its field, and when one
# field name ("kind", "status") carries several choice sets it needs each set to appear in one
# component only. So the input serializers share their model's component name (their requests
# are "MachineRequest", "PatchedMachineRequest"), and the capabilities list refers to the one
# capability enum (named by the routing steps' `capability`) instead of naming it a second
# time; `spectacular --validate` fails should that reference ever dangle.
@extend_schema_field(
    {
        "type": "array",
        "items": {"$ref": "#/components/schemas/CapabilityEnum"},
        "minItems": 1,
        "description": "Capability codes, each once.",
    }
)
class CapabilityListField(serializers.ListField):
    child = serializers.ChoiceField(choices=Capability.choices)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_length", 1)
        super().__init__(**kwargs)


# --- machines ----------------------------------------------------------------------------------
class MachineFilter(TenantFilterSet):
    site = IdFilter(field_name="site_id")
    status = django_filters.ChoiceFilter(choices=Machine.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Machine.Kind.choices)
    capability = django_filters.ChoiceFilter(
        choices=Capability.choices,
        method="filter_capability",
        label="Machines that have this capability.",
    )

    def filter_capability(self, queryset, name, value):
        # `capabilities__contains=[value]` is PostgreSQL-only (SQLite raises NotSupportedError),
        # so match the element in the JSON text of the list, quotes included: the quotes make
        # it a whole code, never part of a longer one, on both databases.
        return queryset.filter(capabilities__icontains=f'"{value}"')


class MachineSerializer(output_serializer_for(Machine)):
    capabilities = CapabilityListField(read_only=True)


class MachineStatusChange(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in Machine.Status if s in MANUAL_STATUSES],
        help_text="Running is set by operations only.",
        error_messages={
            "invalid_choice": (
                "Status {input!r} cannot be set by hand; choose available, maintenance or down."
            )
        },
    )
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Required unless available."
    )


@extend_schema_serializer(component_name="Machine")
class MachineInputSerializer(
    input_serializer_for(
        Machine,
        tuple(sorted(MACHINE_FIELDS - {"capabilities"})),
        site_id=related_id(),
        capabilities=CapabilityListField(),
    )
):
    pass


class MachineViewSet(TenantViewSet):
    output_serializer = MachineSerializer
    input_serializer = MachineInputSerializer
    filterset_class = MachineFilter
    ordering_fields = ["name", "kind", "status", "created_at", "updated_at"]
    action_serializers = {"change_status": MachineStatusChange}

    def tenant_queryset(self):
        return machine_list(tenant=self.tenant)

    def get_object(self):
        return machine_get(tenant=self.tenant, machine_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        machine = machine_create(actor=self.actor, **self.validated())
        return self.respond(machine, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        fields = self.validated(partial=True)
        if "site_id" in fields:
            raise serializers.ValidationError(
                {"site_id": ["A machine cannot move to another site; add it there anew."]}
            )
        return self.respond(machine_update(actor=self.actor, machine=self.get_object(), **fields))

    def destroy(self, request: Request, pk: int) -> Response:
        machine_delete(actor=self.actor, machine=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def change_status(self, request: Request, pk: int) -> Response:
        """Set a machine available, in maintenance or down (with the reason). A machine is
        running only while an operation runs on it."""
        data = self.validated(MachineStatusChange)
        machine = machine_change_status(actor=self.actor, machine=self.get_object(), **data)
        return self.respond(machine)


# --- maintenance windows -----------------------------------------------------------------------
class MaintenanceWindowFilter(TenantFilterSet):
    machine = IdFilter(field_name="machine_id")
    starts_after = UtcDateTimeFilter(
        field_name="starts_at", lookup_expr="gte", label="Windows starting at or after this."
    )
    ends_before = UtcDateTimeFilter(
        field_name="ends_at", lookup_expr="lte", label="Windows ending at or before this."
    )


class MaintenanceWindowViewSet(TenantViewSet):
    """Planned maintenance; to change a window, delete it and plan it anew."""

    output_serializer = output_serializer_for(MaintenanceWindow)
    input_serializer = input_serializer_for(
        MaintenanceWindow,
        ("reason",),
        machine_id=related_id(),
        starts_at=AwareDateTimeField(),
        ends_at=AwareDateTimeField(),
    )
    filterset_class = MaintenanceWindowFilter
    ordering_fields = ["starts_at", "ends_at", "updated_at"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def tenant_queryset(self):
        return maintenance_window_list(tenant=self.tenant)

    def get_object(self):
        return maintenance_window_get(tenant=self.tenant, window_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        data = self.validated()
        machine = machine_get(tenant=self.tenant, machine_id=data.pop("machine_id"))
        window = maintenance_window_create(actor=self.actor, machine=machine, **data)
        return self.respond(window, status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: int) -> Response:
        maintenance_window_delete(actor=self.actor, window=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- energy readings ---------------------------------------------------------------------------
class EnergyReadingFilter(TenantFilterSet):
    machine = IdFilter(field_name="machine_id")
    kind = django_filters.ChoiceFilter(choices=EnergyReading.Kind.choices)
    recorded_from = UtcDateTimeFilter(
        field_name="recorded_at", lookup_expr="gte", label="Readings recorded at or after this."
    )
    recorded_to = UtcDateTimeFilter(
        field_name="recorded_at", lookup_expr="lt", label="Readings recorded before this."
    )


@extend_schema_serializer(component_name="EnergyReading")
class EnergyReadingInput(
    input_serializer_for(
        EnergyReading,
        ("kind", "kwh", "source"),
        machine_id=related_id(),
        recorded_at=AwareDateTimeField(help_text="The meter's timestamp (end of an interval)."),
        interval_start=AwareDateTimeField(
            required=False,
            allow_null=True,
            help_text="Interval readings only: when the interval began (before recorded_at).",
        ),
    )
):
    pass


class ReadingList(serializers.ListField):
    """A list whose length is checked before its items (1,000 bad items are not parsed)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and len(data) > MAX_READINGS_PER_CALL:
            self.fail("max_length", max_length=MAX_READINGS_PER_CALL)
        return super().to_internal_value(data)


class EnergyReadingBulkInput(serializers.Serializer):
    readings = ReadingList(
        child=EnergyReadingInput(),
        min_length=1,
        max_length=MAX_READINGS_PER_CALL,
        help_text="Errors name the invalid readings by index: extra.fields.readings.<index>.",
    )


class EnergyReadingBulkResult(serializers.Serializer):
    count = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())


class EnergyReadingViewSet(TenantViewSet):
    """Meter readings per machine: cumulative (the meter's register, never going down) or
    interval (kWh consumed during [interval_start, recorded_at)). Readings are measurements,
    so they are never changed; a reading of the same machine, kind and time is refused."""

    output_serializer = output_serializer_for(EnergyReading)
    input_serializer = EnergyReadingInput
    filterset_class = EnergyReadingFilter
    ordering_fields = ["recorded_at", "kwh", "updated_at"]
    http_method_names = ["get", "post", "head", "options"]
    action_serializers = {"bulk": EnergyReadingBulkInput}

    def tenant_queryset(self):
        return energy_reading_list(tenant=self.tenant)

    def get_object(self):
        return energy_reading_get(tenant=self.tenant, reading_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        reading = energy_reading_record(actor=self.actor, **self.validated())
        return self.respond(reading, status.HTTP_201_CREATED)

    @extend_schema(responses={201: EnergyReadingBulkResult})
    @action(detail=False, methods=["post"], url_path="bulk", url_name="bulk")
    def bulk(self, request: Request) -> Response:
        """Up to 1,000 readings, all or nothing: one invalid reading saves none."""
        data = self.validated(EnergyReadingBulkInput)
        readings = energy_reading_record_many(actor=self.actor, readings=data["readings"])
        result = {"count": len(readings), "ids": [reading.pk for reading in readings]}
        return Response(result, status=status.HTTP_201_CREATED)
