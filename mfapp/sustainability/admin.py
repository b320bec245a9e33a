from django.contrib import admin
from django.http import HttpRequest

from mfapp.core.admin import TenantScopedAdmin
from mfapp.sustainability.models import (
    EmissionFactor,
    FactorOverride,
    SustainabilityReport,
    SustainabilitySettings,
)


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    """Read-only: the table is loaded from the CSV files by a data migration."""

    list_display = ("kind", "key", "value", "unit", "year", "is_proxy", "licence")
    list_filter = ("kind", "is_proxy", "year")
    search_fields = ("key", "source", "note")
    list_per_page = 500  # the whole table (about 160 rows) on one page
    readonly_fields = tuple(
        f.name for f in EmissionFactor._meta.get_fields() if getattr(f, "concrete", False)
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FactorOverride)
class FactorOverrideAdmin(TenantScopedAdmin):
    list_display = ("kind", "key", "site", "value", "unit", "year", "tenant")
    list_filter = ("tenant", "kind")
    list_select_related = ("tenant", "site")
    search_fields = ("key", "source", "tenant__slug")
    autocomplete_fields = ("tenant", "site")


@admin.register(SustainabilitySettings)
class SustainabilitySettingsAdmin(TenantScopedAdmin):
    list_display = ("tenant", "delivery_mode", "road_factor", "baseline_description")
    search_fields = ("tenant__slug", "baseline_description")


@admin.register(SustainabilityReport)
class SustainabilityReportAdmin(TenantScopedAdmin):
    """Read-only: reports are written by the report task only."""

    list_display = ("id", "tenant", "site", "period_start", "period_end", "status", "progress")
    list_filter = ("tenant", "status")
    list_select_related = ("tenant", "site")
    search_fields = ("tenant__slug",)
    fields = tuple(
        f.name for f in SustainabilityReport._meta.get_fields() if getattr(f, "concrete", False)
    )
    readonly_fields = fields
    autocomplete_fields = ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
