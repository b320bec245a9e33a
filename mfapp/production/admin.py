from django.contrib import admin

from mfapp.core.admin import TenantScopedAdmin, TenantScopedInline
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck


class BatchOperationInline(TenantScopedInline):
    model = BatchOperation
    fields = ("sequence", "name", "capability", "machine", "status", "planned_start", "actual_end")
    readonly_fields = fields
    can_delete = False


@admin.register(Batch)
class BatchAdmin(TenantScopedAdmin):
    list_display = ("lot_code", "product", "tenant", "site", "status", "quantity_planned")
    list_filter = ("tenant", "status")
    search_fields = ("lot_code", "product__sku")
    autocomplete_fields = ("tenant", "product", "site", "order_line")
    inlines = (BatchOperationInline,)


@admin.register(BatchOperation)
class BatchOperationAdmin(TenantScopedAdmin):
    list_display = ("batch", "sequence", "name", "machine", "status", "planned_start", "tenant")
    list_filter = ("tenant", "status", "capability")
    search_fields = ("batch__lot_code", "name", "machine__name")
    autocomplete_fields = ("tenant", "batch", "machine", "material", "routing_step")


@admin.register(QualityCheck)
class QualityCheckAdmin(TenantScopedAdmin):
    list_display = ("batch", "characteristic", "measured", "passed", "checked_at", "tenant")
    list_filter = ("tenant", "passed")
    search_fields = ("batch__lot_code", "characteristic")
    autocomplete_fields = ("tenant", "batch", "operation", "checked_by")


@admin.register(MaterialConsumption)
class MaterialConsumptionAdmin(TenantScopedAdmin):
    list_display = ("batch", "material", "quantity", "material_lot", "recorded_at", "tenant")
    search_fields = ("batch__lot_code", "material__code", "material_lot")
    autocomplete_fields = ("tenant", "batch", "material", "recorded_by")
