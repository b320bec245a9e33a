"""Schedule runs for integrations: queue a re-plan of a site (202), follow its status, read
the plan it produced."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.core.api import (
    IdFilter,
    TenantFilterSet,
    TenantViewSet,
    output_serializer_for,
    related_id,
)
from mfapp.core.pagination import MAX_PAGE_SIZE
from mfapp.production.models import BatchOperation
from mfapp.scheduling.adapter import open_operations
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import schedule_run_get, schedule_run_list
from mfapp.scheduling.services import schedule_run_request
from mfapp.tenancy.selectors import site_get


class ScheduleRunFilter(TenantFilterSet):
    site = IdFilter(field_name="site_id")
    status = django_filters.ChoiceFilter(choices=ScheduleRun.Status.choices)


class ScheduleRunInputSerializer(serializers.Serializer):
    site_id = related_id()


class PlannedOperationSerializer(serializers.ModelSerializer):
    lot_code = serializers.CharField(source="batch.lot_code", read_only=True)
    machine_name = serializers.CharField(source="machine.name", read_only=True, allow_null=True)
    # A plain string: the operation status enum belongs to the operations' own component.
    status = serializers.CharField(read_only=True, help_text="pending, running or paused.")

    class Meta:
        model = BatchOperation
        fields = (
            "id",
            "batch",
            "lot_code",
            "sequence",
            "name",
            "capability",
            "status",
            "machine",
            "machine_name",
            "planned_start",
            "planned_end",
            "actual_start",
        )


class SchedulePlanSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    site = serializers.IntegerField()
    count = serializers.IntegerField(help_text="The plan's operations, on every page.")
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")
    operations = PlannedOperationSerializer(
        many=True,
        help_text=f"One page of the plan: `page` and `page_size` (at most {MAX_PAGE_SIZE}) as "
        "on every list.",
    )


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set."),
    OpenApiParameter(
        "page_size", int, description=f"Number of results per page, at most {MAX_PAGE_SIZE}."
    ),
]


class ScheduleRunViewSet(TenantViewSet):
    output_serializer = output_serializer_for(ScheduleRun)
    input_serializer = ScheduleRunInputSerializer
    filterset_class = ScheduleRunFilter
    ordering_fields = ["created_at", "finished_at"]
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self):
        return schedule_run_list(tenant=self.tenant)

    def get_object(self):
        return schedule_run_get(tenant=self.tenant, run_id=self.kwargs["pk"])

    @extend_schema(responses={202: output_serializer})
    def create(self, request: Request) -> Response:
        """Queue a re-plan of the site (or get the run already queued for it)."""
        site = site_get(tenant=self.tenant, site_id=self.validated()["site_id"])
        run = schedule_run_request(actor=self.actor, site=site, trigger=ScheduleRun.Trigger.MANUAL)
        return self.respond(run, status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: SchedulePlanSerializer}, parameters=PAGE_PARAMETERS)
    @action(detail=True, methods=["get"])
    def plan(self, request: Request, pk: int) -> Response:
        """The site's open operations with their planned machine and times (the current plan:
        the newest successful run's, or later changes), a page at a time."""
        run = self.get_object()
        operations = open_operations(site=run.site).order_by(
            "planned_start", "batch_id", "sequence", "pk"
        )
        page = self.paginator.paginate_queryset(operations, request, view=self)
        data = {
            "run": run.pk,
            "site": run.site_id,
            **self.paginator.page_fields(),
            "operations": page,
        }
        return Response(SchedulePlanSerializer(data).data)
