from django.contrib import admin
from django.http import HttpRequest

from mfapp.audit.models import AuditEvent
from mfapp.core.admin import TenantScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    """Read-only: the audit trail is written by services, never edited."""

    list_display = ("created_at", "tenant", "verb", "target_type", "target_id", "actor_label")
    list_filter = ("tenant", "verb", "target_type")
    search_fields = ("verb", "target_repr", "actor_label", "message")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
