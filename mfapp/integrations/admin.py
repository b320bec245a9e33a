from django.contrib import admin
from django.http import HttpRequest

from mfapp.core.admin import TenantScopedAdmin, TenantScopedInline
from mfapp.integrations.models import (
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    list_display = ("url", "tenant", "is_active", "created_at")
    list_filter = ("tenant", "is_active")
    search_fields = ("url", "description")
    exclude = ("secret",)


class WebhookAttemptInline(TenantScopedInline):
    model = WebhookAttempt
    fields = ("number", "created_at", "response_status", "error", "duration_ms")
    readonly_fields = fields
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin):
    list_display = ("event_type", "endpoint", "tenant", "status", "attempt_count", "created_at")
    list_filter = ("tenant", "status", "event_type")
    search_fields = ("event_id", "endpoint__url")
    readonly_fields = ("created_at", "updated_at", "event_id")
    autocomplete_fields = ("tenant", "endpoint")
    inlines = (WebhookAttemptInline,)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(TenantScopedAdmin):
    list_display = ("delivery", "number", "response_status", "duration_ms", "tenant")
    search_fields = ("delivery__event_id",)
    autocomplete_fields = ("tenant", "delivery")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(TenantScopedAdmin):
    list_display = ("key", "method", "path", "response_status", "expires_at", "tenant")
    search_fields = ("key", "path")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
