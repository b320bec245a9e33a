from datetime import date, datetime
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from mfapp.core.exceptions import NotFound
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.production.models import Batch
from mfapp.tenancy.models import Site, Tenant


def customer_get(*, tenant: Tenant, customer_id: int) -> Customer:
    try:
        return Customer.objects.for_tenant(tenant).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("Customer not found.") from None


def customer_list(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.for_tenant(tenant).order_by("name")


def _lines_prefetch(tenant: Tenant, *, with_related: bool = True) -> Prefetch:
    lines = OrderLine.objects.for_tenant(tenant).order_by("id")
    return Prefetch("lines", queryset=lines.select_related("product") if with_related else lines)


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
    with_related: bool = True,
    customer_id: int | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    search: str = "",
    late: bool = False,
) -> QuerySet[Order]:
    """`with_lines`: each order's lines in one extra query per page. `with_related`: customer,
    site and the lines' products, for pages (the API names them by id). They are fetched
    for the page's orders in queries of their own, not joined: without joins PostgreSQL
    walks the tenant's newest orders in index order and stops at the page, where with them it
    joined and sorted all 28,000 orders of the largest tenant (50 ms). `due_from`/`due_to`
    include both days; `search` is part of the number or customer name."""
    qs = Order.objects.for_tenant(tenant)
    if with_related:
        qs = qs.prefetch_related(
            Prefetch("customer", queryset=Customer.objects.for_tenant(tenant)),
            Prefetch("site", queryset=Site.objects.for_tenant(tenant)),
        )
    if with_lines:
        qs = qs.prefetch_related(_lines_prefetch(tenant, with_related=with_related))
    if status:
        qs = qs.filter(status=status)
    if due_before:
        qs = qs.filter(due_date__lt=due_before)
    if site_id:
        qs = qs.filter(site_id=site_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if due_from:
        qs = qs.filter(due_date__gte=due_from)
    if due_to:
        qs = qs.filter(due_date__lte=due_to)
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(customer__name__icontains=search))
    if late:
        qs = qs.filter(orders_late_q(tenant=tenant, now=timezone.now()))
    return qs.order_by("-created_at", "-id")


def site_timezones(*, tenant: Tenant) -> list[str]:
    """The time zones of the tenant's sites, each once."""
    rows = Site.objects.for_tenant(tenant).order_by("timezone").values_list("timezone", flat=True)
    return sorted(set(rows))


def orders_late_q(*, tenant: Tenant, now: datetime, zones: list[str] | None = None) -> Q:
    """Open orders past their due date, the day being the one at each order's site: one
    condition per time zone in use (`zones`, else one small query lists them)."""
    if zones is None:
        zones = site_timezones(tenant=tenant)
    by_zone = [
        Q(site__timezone=zone, due_date__lt=now.astimezone(ZoneInfo(zone)).date()) for zone in zones
    ]
    if not by_zone:
        return Q(pk__in=[])
    return ~Q(status__in=(Order.Status.SHIPPED, Order.Status.CANCELLED)) & reduce(or_, by_zone)


def order_is_late(order: Order, *, now: datetime | None = None) -> bool:
    """Past its due date (the day at the order's site) and neither shipped nor cancelled."""
    today = (now or timezone.now()).astimezone(ZoneInfo(order.site.timezone)).date()
    return order.is_open and order.due_date < today


def order_batch_list(*, tenant: Tenant, order_id: int) -> QuerySet[Batch]:
    """The batches planned for an order's lines, in the order they were created."""
    return (
        Batch.objects.for_tenant(tenant)
        .select_related("product", "order_line")
        .filter(order_line__order_id=order_id)
        .order_by("id")
    )


def order_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Order.objects.for_tenant(tenant).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
