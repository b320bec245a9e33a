from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from mfapp.audit.changes import event_changes, target_type_choices, target_type_label
from mfapp.audit.models import AuditEvent
from mfapp.core.admin import TenantScopedAdmin


class TargetTypeFilter(admin.SimpleListFilter):
    """By kind of object, from the models (no DISTINCT over a table that never stops growing)."""

    title = "object type"
    parameter_name = "target_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return target_type_choices()

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(target_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    """Read-only: the audit trail is written by services, never added, edited or deleted here
    (not even by a superuser)."""

    list_display = ("created_at", "tenant", "actor_label", "verb", "target")
    list_display_links = ("created_at",)
    # Tenant and verb as asked; the date filter and the object types need no query.
    list_filter = ("tenant", "verb", TargetTypeFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("verb", "target_repr", "actor_label", "message")
    fields = (
        "tenant",
        "created_at",
        "actor_label",
        "actor_user",
        "verb",
        "target_type",
        "target_id",
        "target_repr",
        "message",
        "changes",
        "before",
        "after",
    )
    readonly_fields = fields
    autocomplete_fields = ()
    actions = None

    @admin.display(description="target", ordering="target_type")
    def target(self, event: AuditEvent) -> str:
        return f"{target_type_label(event.target_type)} #{event.target_id} {event.target_repr}"

    @admin.display(description="changes (before → after)")
    def changes(self, event: AuditEvent) -> SafeString:
        rows = [(c.label, c.before, c.after) for c in event_changes(event)]
        if not rows:
            return format_html("{}", "—")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {} → {}</li>", rows))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
