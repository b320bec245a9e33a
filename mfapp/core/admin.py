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
from mfapp.core.serialization import jsonable


def _tenant_of(obj: models.Model) -> Any:
    from mfapp.tenancy.models import Tenant

    return obj if isinstance(obj, Tenant) else obj.tenant  # type: ignore[attr-defined]


def staff_access_record(
    request: HttpRequest,
    *,
    target: models.Model,
    verb: str,
    message: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One look at or change of `target` by platform staff, in its tenant's audit log."""
    from mfapp.audit.services import audit_record
    from mfapp.tenancy.actors import Actor

    actor = Actor(tenant=_tenant_of(target), role=Actor.PLATFORM_STAFF, user=request.user)
    audit_record(
        actor=actor,
        verb=verb,
        target=target,
        before=jsonable(before or {}),
        after=jsonable(after or {}),
        message=message,
    )


class StaffAccessAuditMixin:
    """Audits what staff list, open, add, change and delete (inlines included)."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            shown: Counter[int] = Counter()
            first: dict[int, models.Model] = {}  # the tenant's first row listed: the target
            for row in changelist.result_list:
                tenant_id = _tenant_of(row).pk
                shown[tenant_id] += 1
                first.setdefault(tenant_id, row)
            for tenant_id, count in shown.items():
                staff_access_record(
                    request,
                    target=first[tenant_id],
                    verb="platform.listed",
                    message=f"Listed {count} {first[tenant_id]._meta.verbose_name_plural}: "
                    f"{request.get_full_path()}",
                )
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        original = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and original is not None:
            staff_access_record(request, target=original, verb="platform.viewed")
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
        staff_access_record(request, target=obj, verb=verb, before=before, after=after)

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
