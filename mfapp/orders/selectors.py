from datetime import date

from django.db.models import Count, Prefetch, QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.tenancy.models import Tenant


def customer_get(*, tenant: Tenant, customer_id: int) -> Customer:
    try:
        return Customer.objects.for_tenant(tenant).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("Customer not found.") from None


def customer_list(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.for_tenant(tenant).order_by("name")


def _lines_prefetch(tenant: Tenant) -> Prefetch:
    lines = OrderLine.objects.for_tenant(tenant).select_related("product").order_by("id")
    return Prefetch("lines", queryset=lines)


def order_get(*, tenant: Tenant, order_id: int) -> Order:
    try:
        return (
            Order.objects.for_tenant(tenant)
            .select_related("customer", "site")
            .prefetch_related(_lines_prefetch(tenant))
            .get(pk=order_id)
        )
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound("Order not found.") from None


def order_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    due_before: date | None = None,
    site_id: int | None = None,
    with_lines: bool = False,
) -> QuerySet[Order]:
    """`with_lines`: each order's lines (and their products) in one extra query per page."""
    qs = Order.objects.for_tenant(tenant).select_related("customer", "site")
    if with_lines:
        qs = qs.prefetch_related(_lines_prefetch(tenant))
    if status:
        qs = qs.filter(status=status)
    if due_before:
        qs = qs.filter(due_date__lt=due_before)
    if site_id:
        qs = qs.filter(site_id=site_id)
    return qs.order_by("-created_at", "-id")


def order_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Order.objects.for_tenant(tenant).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
