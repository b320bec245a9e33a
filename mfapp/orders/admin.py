from django.contrib import admin

from mfapp.core.admin import TenantScopedAdmin, TenantScopedInline
from mfapp.orders.models import Customer, Order, OrderLine


class OrderLineInline(TenantScopedInline):
    model = OrderLine
    fields = ("tenant", "product", "quantity", "unit_price")
    autocomplete_fields = ("product",)


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    list_display = ("name", "email", "country", "tenant")
    list_filter = ("tenant", "country")
    search_fields = ("name", "email", "external_ref")


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    list_display = ("number", "customer", "tenant", "status", "priority", "due_date")
    list_filter = ("tenant", "status", "priority")
    search_fields = ("number", "external_ref", "customer__name")
    date_hierarchy = "due_date"
    autocomplete_fields = ("tenant", "customer", "site")
    inlines = (OrderLineInline,)


@admin.register(OrderLine)
class OrderLineAdmin(TenantScopedAdmin):
    list_display = ("order", "product", "quantity", "unit_price", "tenant")
    search_fields = ("order__number", "product__sku")
    autocomplete_fields = ("tenant", "order", "product")
