from django.db.models import Count, Prefetch, QuerySet

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
    *, tenant: Tenant, status: str | None = None, site_id: int | None = None
) -> QuerySet[Batch]:
    qs = Batch.objects.for_tenant(tenant).select_related("product", "site", "order_line__order")
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
