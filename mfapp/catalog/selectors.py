from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.core.exceptions import NotFound
from mfapp.orders.models import OrderLine
from mfapp.production.models import Batch
from mfapp.tenancy.models import Tenant


def product_get(*, tenant: Tenant, product_id: int) -> Product:
    try:
        return Product.objects.for_tenant(tenant).get(pk=product_id)
    except (Product.DoesNotExist, ValueError, TypeError):
        raise NotFound("Product not found.") from None


def product_get_with_recipe(*, tenant: Tenant, product_id: int) -> Product:
    """A product with its routing steps and BOM lines loaded (two extra queries, no N+1)."""
    qs = Product.objects.for_tenant(tenant).prefetch_related(
        Prefetch(
            "routing_steps",
            queryset=RoutingStep.objects.for_tenant(tenant)
            .select_related("material")
            .order_by("sequence"),
        ),
        Prefetch(
            "bom_lines",
            queryset=BomLine.objects.for_tenant(tenant).select_related("material").order_by("id"),
        ),
    )
    try:
        return qs.get(pk=product_id)
    except (Product.DoesNotExist, ValueError, TypeError):
        raise NotFound("Product not found.") from None


def product_list(
    *, tenant: Tenant, search: str = "", active: bool | None = None
) -> QuerySet[Product]:
    qs = Product.objects.for_tenant(tenant).order_by("sku")
    if search:
        qs = qs.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def product_list_with_counts(
    *, tenant: Tenant, search: str = "", active: bool | None = None
) -> QuerySet[Product]:
    """`product_list` with `step_count` and `bom_line_count` on each product (one query)."""
    return product_list(tenant=tenant, search=search, active=active).annotate(
        step_count=Count("routing_steps", distinct=True),
        bom_line_count=Count("bom_lines", distinct=True),
    )


def product_in_use(*, tenant: Tenant, product: Product) -> bool:
    """Ordered or made at least once: such a product cannot be deleted, only made inactive."""
    return (
        OrderLine.objects.for_tenant(tenant).filter(product=product).exists()
        or Batch.objects.for_tenant(tenant).filter(product=product).exists()
    )


def material_get(*, tenant: Tenant, material_id: int) -> Material:
    try:
        return Material.objects.for_tenant(tenant).get(pk=material_id)
    except (Material.DoesNotExist, ValueError, TypeError):
        raise NotFound("Material not found.") from None


def material_list(*, tenant: Tenant) -> QuerySet[Material]:
    return Material.objects.for_tenant(tenant).order_by("name")


# Batches that have not started yet: nothing is consumed for them, all of their material is
# still needed.
NOT_STARTED = (Batch.Status.PLANNED, Batch.Status.SCHEDULED)


class StockState:
    NEGATIVE = "negative"
    OUT = "out"
    LOW = "low"
    OK = "ok"


def material_stock_list(*, tenant: Tenant) -> QuerySet[Material]:
    """Materials with `planned_need` (what the batches not started yet need, scrap allowance
    included) and `stock_state`: negative, out (nothing on hand), low (less on hand than the
    planned need) or ok. One query."""
    quantity = DecimalField(max_digits=20, decimal_places=3)
    # A subquery per material rather than one join of every material with every batch of its
    # products: PostgreSQL then reads the batches not started only, for the page's materials.
    needs = (
        BomLine.objects.for_tenant(tenant)
        .filter(material=OuterRef("pk"), product__batches__status__in=NOT_STARTED)
        .order_by()
        .values("material")
        .annotate(
            total=Sum(
                F("quantity_per_unit")
                # times 0.01, not divided by 100: SQLite divides whole numbers as integers
                * (Value(Decimal("1")) + F("scrap_allowance_percent") * Value(Decimal("0.01")))
                * F("product__batches__quantity_planned"),
                output_field=quantity,
            )
        )
        .values("total")
    )
    return (
        material_list(tenant=tenant)
        .annotate(
            planned_need=Coalesce(
                Subquery(needs, output_field=quantity), Value(Decimal("0")), output_field=quantity
            )
        )
        .annotate(
            stock_state=Case(
                When(stock_on_hand__lt=0, then=Value(StockState.NEGATIVE)),
                When(stock_on_hand=0, then=Value(StockState.OUT)),
                When(stock_on_hand__lt=F("planned_need"), then=Value(StockState.LOW)),
                default=Value(StockState.OK),
                output_field=CharField(),
            )
        )
    )


def material_stock_get(*, tenant: Tenant, material_id: int) -> Material:
    """One material as `material_stock_list` shows it."""
    try:
        return material_stock_list(tenant=tenant).get(pk=material_id)
    except (Material.DoesNotExist, ValueError, TypeError):
        raise NotFound("Material not found.") from None


def routing_step_get(*, tenant: Tenant, routing_step_id: int) -> RoutingStep:
    try:
        return (
            RoutingStep.objects.for_tenant(tenant).select_related("product").get(pk=routing_step_id)
        )
    except (RoutingStep.DoesNotExist, ValueError, TypeError):
        raise NotFound("Routing step not found.") from None


def bom_line_get(*, tenant: Tenant, bom_line_id: int) -> BomLine:
    try:
        return (
            BomLine.objects.for_tenant(tenant)
            .select_related("product", "material")
            .get(pk=bom_line_id)
        )
    except (BomLine.DoesNotExist, ValueError, TypeError):
        raise NotFound("BOM line not found.") from None


def routing_step_list(*, tenant: Tenant) -> QuerySet[RoutingStep]:
    return RoutingStep.objects.for_tenant(tenant).order_by("product_id", "sequence")


def bom_line_list(*, tenant: Tenant) -> QuerySet[BomLine]:
    return BomLine.objects.for_tenant(tenant).order_by("product_id", "id")
