"""Admin base for tenant-owned models: the platform staff's one cross-tenant path.

Staff requests in the admin run under `rls.platform_access` (tenancy.middleware); every look
at or change of a tenant's rows is written to that tenant's audit log, so its owners see who
of the platform looked at what and when."""

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from mfapp.core.models import TenantScopedModel


def _tenant_id_of(obj: models.Model) -> int:
    from mfapp.tenancy.models import Tenant

    return obj.pk if isinstance(obj, Tenant) else obj.tenant_id  # type: ignore[attr-defined]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def staff_access_record(
    request: HttpRequest,
    *,
    tenant_id: int,
    verb: str,
    target: models.Model,
    message: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    from mfapp.audit.models import AuditEvent

    user = request.user
    AuditEvent.objects.create(
        tenant_id=tenant_id,
        actor_user=user,
        actor_label=f"platform staff: {user.get_username()}"[:200],
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=target.pk or 0,
        target_repr=str(target)[:200],
        before=_plain(before or {}),
        after=_plain(after or {}),
        message=message,
    )


class StaffAccessAuditMixin:
    """Audits what staff list, open, add, change and delete (inlines included)."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            rows = list(changelist.result_list)
            for tenant_id, count in Counter(_tenant_id_of(row) for row in rows).items():
                first = next(row for row in rows if _tenant_id_of(row) == tenant_id)
                staff_access_record(
                    request,
                    tenant_id=tenant_id,
                    verb="platform.listed",
                    target=first,
                    message=f"Listed {count} {first._meta.verbose_name_plural}: "
                    f"{request.get_full_path()}",
                )
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        original = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and original is not None:
            staff_access_record(
                request, tenant_id=_tenant_id_of(original), verb="platform.viewed", target=original
            )
        return response

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self._record_form_save(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in formset.new_objects:
            self._record_save(request, obj, "platform.created", {}, {})
        for obj, fields in formset.changed_objects:
            self._record_save(request, obj, "platform.changed", {}, {"fields": fields})
        for obj in formset.deleted_objects:
            self._record_save(request, obj, "platform.deleted", {}, {})

    def _record_form_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        fields = [
            name
            for name in form.changed_data
            if name in form.cleaned_data
            and not isinstance(form.fields[name].widget, forms.PasswordInput)  # never a secret
        ]
        before = {name: form.initial.get(name) for name in fields} if change else {}
        after = {name: form.cleaned_data[name] for name in fields}
        verb = "platform.changed" if change else "platform.created"
        self._record_save(request, obj, verb, before, after)

    def _record_save(
        self, request: HttpRequest, obj: Any, verb: str, before: dict, after: dict
    ) -> None:
        staff_access_record(
            request,
            tenant_id=_tenant_id_of(obj),
            verb=verb,
            target=obj,
            before=before,
            after=after,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._record_save(request, obj, "platform.deleted", {}, {})
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self._record_save(request, obj, "platform.deleted", {}, {})
        super().delete_queryset(request, queryset)  # type: ignore[misc]


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


class TenantScopedAdmin(StaffAccessAuditMixin, CrossTenantAdminMixin, admin.ModelAdmin):
    list_select_related = ("tenant",)
    list_filter: tuple[Any, ...] = ("tenant",)
    list_per_page = 50
    show_full_result_count = False
    autocomplete_fields: tuple[str, ...] = ("tenant",)
    readonly_fields: tuple[str, ...] = ("created_at", "updated_at")


class TenantScopedInline(CrossTenantAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True
