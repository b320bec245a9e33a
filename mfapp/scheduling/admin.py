from django.contrib import admin
from django.http import HttpRequest

from mfapp.core.admin import TenantScopedAdmin
from mfapp.scheduling.models import ScheduleRun


@admin.register(ScheduleRun)
class ScheduleRunAdmin(TenantScopedAdmin):
    """Read-only: runs are written by the scheduler only."""

    list_display = ("id", "tenant", "site", "status", "trigger", "created_at", "wall_seconds")
    list_filter = ("tenant", "status", "trigger")
    list_select_related = ("tenant", "site")
    fields = tuple(f.name for f in ScheduleRun._meta.get_fields() if getattr(f, "concrete", False))
    readonly_fields = fields
    autocomplete_fields = ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
