"""Sustainability reports for integrations: list them (without the document), fetch one (with
it), ask for one (202: it is computed on the `reports` queue; poll it for progress)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.core.api import IdFilter, TenantFilterSet, TenantViewSet, related_id
from mfapp.sustainability.models import SustainabilityReport
from mfapp.sustainability.selectors import report_get, report_list
from mfapp.sustainability.services import report_request
from mfapp.tenancy.selectors import site_get

SUMMARY_FIELDS = (
    "id",
    "site",
    "period_start",
    "period_end",
    "status",
    "progress",
    "progress_note",
    "requested_by",
    "started_at",
    "finished_at",
    "error",
    "created_at",
    "updated_at",
)


class ReportFilter(TenantFilterSet):
    site = IdFilter(field_name="site_id")
    status = django_filters.ChoiceFilter(choices=SustainabilityReport.Status.choices)


class ReportSummarySerializer(serializers.ModelSerializer):
    # A plain string: the same four values as a schedule run's status, whose enum component
    # would otherwise collide with this one's in the schema.
    status = serializers.CharField(read_only=True, help_text="queued, running, succeeded, failed")
    total_kgco2e = serializers.FloatField(read_only=True, allow_null=True)
    kgco2e_per_unit = serializers.FloatField(
        source="kg_co2e_per_unit", read_only=True, allow_null=True
    )

    class Meta:
        model = SustainabilityReport
        fields = (*SUMMARY_FIELDS, "total_kgco2e", "kgco2e_per_unit")


class ReportSerializer(ReportSummarySerializer):
    data = serializers.JSONField(
        read_only=True,
        help_text="The report document (schema mfapp.sustainability.report/1); empty until the "
        "report succeeded once.",
    )

    class Meta(ReportSummarySerializer.Meta):
        fields = (*ReportSummarySerializer.Meta.fields, "data")


class ReportRequestSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period.")
    end = serializers.DateField(help_text="Last day of the period (inclusive).")
    site_id = related_id(required=False, allow_null=True, help_text="Empty: the whole business.")


class SustainabilityReportViewSet(TenantViewSet):
    output_serializer = ReportSerializer
    input_serializer = ReportRequestSerializer
    filterset_class = ReportFilter
    ordering_fields = ["period_end", "created_at"]
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self):
        return report_list(tenant=self.tenant, summaries=True)

    def get_object(self):
        return report_get(tenant=self.tenant, report_id=self.kwargs["pk"])

    @extend_schema(responses={200: ReportSummarySerializer(many=True)})
    def list(self, request: Request, *args, **kwargs) -> Response:
        """Reports, newest period first, without their document (fetch one for it)."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ReportSummarySerializer(page, many=True).data)

    @extend_schema(responses={202: ReportSerializer})
    def create(self, request: Request) -> Response:
        """Ask for the report of a period (and optionally one site): queued at once (202),
        computed in the background; the same period refreshes the same report."""
        values = self.validated()
        site_id = values.get("site_id")
        site = site_get(tenant=self.tenant, site_id=site_id) if site_id is not None else None
        report = report_request(
            actor=self.actor, start=values["start"], end=values["end"], site=site
        )
        report.refresh_from_db()
        return self.respond(report, status.HTTP_202_ACCEPTED)
