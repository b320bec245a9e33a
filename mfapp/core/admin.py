"""Admin base for tenant-owned models: the platform staff's one cross-tenant path."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from mfapp.core.models import TenantScopedModel


class CrossTenantAdminMixin:
    """Staff see every tenant's rows; related choices come from every tenant too, and the
    model's clean() refuses a related row of another tenant than the edited row's."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).all_tenants()  # type: ignore[misc]

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        related = db_field.remote_field.model
        if issubclass(related, TenantScopedModel) and "queryset" not in kwargs:
            kwargs["queryset"] = related.objects.all_tenants()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class TenantScopedAdmin(CrossTenantAdminMixin, admin.ModelAdmin):
    list_select_related = ("tenant",)
    list_filter: tuple[Any, ...] = ("tenant",)
    list_per_page = 50
    show_full_result_count = False
    autocomplete_fields: tuple[str, ...] = ("tenant",)
    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")


class TenantScopedInline(CrossTenantAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True
