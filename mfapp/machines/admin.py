from django.contrib import admin

from mfapp.core.admin import TenantScopedAdmin, TenantScopedInline
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow


class MaintenanceWindowInline(TenantScopedInline):
    model = MaintenanceWindow
    fields = ("tenant", "starts_at", "ends_at", "reason")


@admin.register(Machine)
class MachineAdmin(TenantScopedAdmin):
    list_display = ("name", "kind", "site", "tenant", "status", "runs_unattended")
    list_filter = ("tenant", "kind", "status")
    search_fields = ("name", "site__name", "tenant__slug")
    autocomplete_fields = ("tenant", "site")
    inlines = (MaintenanceWindowInline,)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(TenantScopedAdmin):
    list_display = ("machine", "starts_at", "ends_at", "reason", "tenant")
    search_fields = ("machine__name", "reason")
    autocomplete_fields = ("tenant", "machine")


@admin.register(EnergyReading)
class EnergyReadingAdmin(TenantScopedAdmin):
    list_display = ("machine", "recorded_at", "kind", "kwh", "interval_start", "source", "tenant")
    list_filter = ("tenant", "kind")
    list_select_related = ("tenant", "machine")
    search_fields = ("machine__name", "source")
    autocomplete_fields = ("tenant", "machine")
    date_hierarchy = "recorded_at"
