from django.contrib import admin

from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.core.admin import TenantScopedAdmin, TenantScopedInline


class RoutingStepInline(TenantScopedInline):
    model = RoutingStep
    fields = ("tenant", "sequence", "name", "capability", "setup_minutes", "run_minutes_per_unit")


class BomLineInline(TenantScopedInline):
    model = BomLine
    fields = ("tenant", "material", "quantity_per_unit", "scrap_allowance_percent")
    autocomplete_fields = ("material",)


@admin.register(Product)
class ProductAdmin(TenantScopedAdmin):
    list_display = ("sku", "name", "tenant", "design_revision", "unit_price", "is_active")
    list_filter = ("tenant", "is_active")
    search_fields = ("sku", "name", "tenant__slug")
    inlines = (RoutingStepInline, BomLineInline)


@admin.register(Material)
class MaterialAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "tenant", "unit", "stock_on_hand", "unit_cost")
    list_filter = ("tenant", "unit")
    search_fields = ("code", "name", "tenant__slug")


@admin.register(RoutingStep)
class RoutingStepAdmin(TenantScopedAdmin):
    list_display = ("product", "sequence", "name", "capability", "tenant")
    list_filter = ("tenant", "capability")
    search_fields = ("name", "product__sku")
    autocomplete_fields = ("tenant", "product", "material")


@admin.register(BomLine)
class BomLineAdmin(TenantScopedAdmin):
    list_display = ("product", "material", "quantity_per_unit", "scrap_allowance_percent", "tenant")
    search_fields = ("product__sku", "material__code")
    autocomplete_fields = ("tenant", "product", "material")
