from collections.abc import Iterable

from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from mfapp.core.exceptions import NotFound
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.tenancy.models import Tenant


def batch_get(*, tenant: Tenant, batch_id: int) -> Batch:
    try:
        return (
            Batch.objects.for_tenant(tenant)
            .select_related("product", "site", "order_line__order")
            .get(pk=batch_id)
        )
    except (Batch.DoesNotExist, ValueError, TypeError):
        raise NotFound("Batch not found.") from None


def batch_get_with_details(*, tenant: Tenant, batch_id: int) -> Batch:
    """A batch with operations, quality checks and consumptions loaded in fixed queries."""
    qs = Batch.objects.for_tenant(tenant).select_related("product", "site", "order_line__order")
    qs = qs.prefetch_related(
        Prefetch(
            "operations",
            queryset=BatchOperation.objects.for_tenant(tenant)
            .select_related("machine", "material")
            .order_by("sequence"),
        ),
        Prefetch(
            "quality_checks",
            queryset=QualityCheck.objects.for_tenant(tenant).select_related("checked_by"),
        ),
        Prefetch(
            "material_consumptions",
            queryset=MaterialConsumption.objects.for_tenant(tenant).select_related("material"),
        ),
    )
    try:
        return qs.get(pk=batch_id)
    except (Batch.DoesNotExist, ValueError, TypeError):
        raise NotFound("Batch not found.") from None


def batch_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    site_id: int | None = None,
    with_related: bool = True,
) -> QuerySet[Batch]:
    """`with_related`: product, site and order joined in, for pages; the API only needs the
    order's id, on the line (see `order_list`)."""
    related = ("product", "site", "order_line__order") if with_related else ("order_line",)
    qs = Batch.objects.for_tenant(tenant).select_related(*related)
    if status:
        qs = qs.filter(status=status)
    if site_id:
        qs = qs.filter(site_id=site_id)
    return qs.order_by("-created_at", "-id")


def batch_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Batch.objects.for_tenant(tenant).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def operation_get(*, tenant: Tenant, operation_id: int) -> BatchOperation:
    try:
        return (
            BatchOperation.objects.for_tenant(tenant)
            .select_related("batch", "machine")
            .get(pk=operation_id)
        )
    except (BatchOperation.DoesNotExist, ValueError, TypeError):
        raise NotFound("Operation not found.") from None


def operation_list(*, tenant: Tenant) -> QuerySet[BatchOperation]:
    return BatchOperation.objects.for_tenant(tenant).order_by("batch_id", "sequence")


def quality_check_get(*, tenant: Tenant, quality_check_id: int) -> QualityCheck:
    try:
        return QualityCheck.objects.for_tenant(tenant).get(pk=quality_check_id)
    except (QualityCheck.DoesNotExist, ValueError, TypeError):
        raise NotFound("Quality check not found.") from None


def quality_check_list(*, tenant: Tenant) -> QuerySet[QualityCheck]:
    return QualityCheck.objects.for_tenant(tenant).order_by("-checked_at", "-id")


def material_consumption_get(
    *, tenant: Tenant, material_consumption_id: int
) -> MaterialConsumption:
    try:
        return MaterialConsumption.objects.for_tenant(tenant).get(pk=material_consumption_id)
    except (MaterialConsumption.DoesNotExist, ValueError, TypeError):
        raise NotFound("Material consumption not found.") from None


def material_consumption_list(*, tenant: Tenant) -> QuerySet[MaterialConsumption]:
    return MaterialConsumption.objects.for_tenant(tenant).order_by("-recorded_at", "-id")


# --- browser pages: batches board, batch page, traveller -------------------------------------
def _batch_board_filter(
    *, tenant: Tenant, site_id: int | None, product_id: int | None, lot_code: str
) -> QuerySet[Batch]:
    qs = Batch.objects.for_tenant(tenant)
    if site_id:
        qs = qs.filter(site_id=site_id)
    if product_id:
        qs = qs.filter(product_id=product_id)
    if lot_code.strip():
        qs = qs.filter(lot_code__icontains=lot_code.strip())
    return qs


def batch_board_list(
    *,
    tenant: Tenant,
    status: str,
    site_id: int | None = None,
    product_id: int | None = None,
    lot_code: str = "",
) -> QuerySet[Batch]:
    """One column of the batches board, with what a card shows in the same query: product,
    site, order and `operations_done` / `operations_total`. Open batches come by due date (made
    to stock last), completed and cancelled ones most recent first.

    The operation counts are subqueries, not a join with GROUP BY: PostgreSQL then counts for
    the cards shown only, not for every batch the column holds (tens of thousands of
    completed ones at a busy tenant)."""
    operations = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(batch_id=OuterRef("pk"))
        .order_by()
        .values("batch_id")
    )

    def count(rows: QuerySet[BatchOperation]) -> Coalesce:
        return Coalesce(Subquery(rows.annotate(n=Count("id")).values("n")), 0)

    qs = (
        _batch_board_filter(
            tenant=tenant, site_id=site_id, product_id=product_id, lot_code=lot_code
        )
        .filter(status=status)
        .select_related("product", "order_line__order")
        # What a card shows: a column is 25 rows of four models, and the unread columns
        # (timestamps above all) were a third of building it.
        .only(
            "lot_code",
            "status",
            "quantity_planned",
            "product__sku",
            "product__name",
            "order_line__order__number",
            "order_line__order__due_date",
        )
        .annotate(
            operations_total=count(operations),
            operations_done=count(operations.filter(status=BatchOperation.Status.DONE)),
        )
    )
    if status in (Batch.Status.COMPLETED, Batch.Status.CANCELLED):
        return qs.order_by("-updated_at", "-id")
    return qs.order_by(F("order_line__order__due_date").asc(nulls_last=True), "created_at", "id")


def batch_board_counts(
    *,
    tenant: Tenant,
    site_id: int | None = None,
    product_id: int | None = None,
    lot_code: str = "",
    statuses: Iterable[str] | None = None,
) -> dict[str, int]:
    """How many batches each board column (or each of `statuses`) holds under the same
    filters (one query)."""
    qs = _batch_board_filter(
        tenant=tenant, site_id=site_id, product_id=product_id, lot_code=lot_code
    )
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    rows = (
        qs.order_by()
        .values("status")
        .annotate(n=Count("*"))  # not Count("id"): counted from the index alone
    )
    return {row["status"]: row["n"] for row in rows}


def batch_detail_get(*, tenant: Tenant, batch_id: int) -> Batch:
    """A batch for its page and traveller: operations with machines, quality checks with their
    operation and inspector, consumptions with material and recorder, in fixed queries."""
    qs = Batch.objects.for_tenant(tenant).select_related(
        "product", "site", "order_line__order__customer"
    )
    qs = qs.prefetch_related(
        Prefetch(
            "operations",
            queryset=BatchOperation.objects.for_tenant(tenant)
            .select_related("machine", "material")
            .order_by("sequence"),
        ),
        Prefetch(
            "quality_checks",
            queryset=QualityCheck.objects.for_tenant(tenant)
            .select_related("operation", "checked_by")
            .order_by("checked_at", "id"),
        ),
        Prefetch(
            "material_consumptions",
            queryset=MaterialConsumption.objects.for_tenant(tenant)
            .select_related("material", "recorded_by")
            .order_by("recorded_at", "id"),
        ),
    )
    try:
        return qs.get(pk=batch_id)
    except (Batch.DoesNotExist, ValueError, TypeError):
        raise NotFound("Batch not found.") from None


def quality_characteristics_for_product(
    *, tenant: Tenant, product_id: int, recent: int = 200
) -> list[QualityCheck]:
    """What is checked on this product: the latest check of each characteristic among its
    batches' `recent` most recent checks (their target, tolerance and unit), by name."""
    checks = (
        QualityCheck.objects.for_tenant(tenant)
        .filter(batch__product_id=product_id)
        .select_related("operation")
        .order_by("-checked_at", "-id")[:recent]
    )
    latest: dict[str, QualityCheck] = {}
    for check in checks:
        latest.setdefault(check.characteristic, check)
    return [latest[name] for name in sorted(latest, key=str.lower)]
