from datetime import datetime

from django.db.models import Q, QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.machines.models import MaintenanceWindow
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling.models import ScheduleRun
from mfapp.tenancy.models import Site, Tenant


def schedule_run_get(*, tenant: Tenant, run_id: int) -> ScheduleRun:
    try:
        return ScheduleRun.objects.for_tenant(tenant).select_related("site").get(pk=run_id)
    except (ScheduleRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("Schedule run not found.") from None


def schedule_run_list(
    *, tenant: Tenant, site_id: int | None = None, status: str | None = None
) -> QuerySet[ScheduleRun]:
    qs = (
        ScheduleRun.objects.for_tenant(tenant).select_related("site").order_by("-created_at", "-id")
    )
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def schedule_run_latest_for_site(*, site: Site, status: str | None = None) -> ScheduleRun | None:
    """The site's newest run (of `status`, if given), or None."""
    qs = ScheduleRun.objects.for_tenant(site.tenant).filter(site=site)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id").first()


OPEN_BATCH_STATUSES = (Batch.Status.PLANNED, Batch.Status.SCHEDULED, Batch.Status.IN_PROGRESS)


def plan_operations(*, site: Site, start: datetime, end: datetime) -> QuerySet[BatchOperation]:
    """Operations on the site's machines that occupy [start, end): planned ones by their planned
    times, started ones from their actual start, finished ones by their actual times."""
    planned = Q(status=BatchOperation.Status.PENDING, planned_start__lt=end, planned_end__gt=start)
    started = Q(
        status__in=[BatchOperation.Status.RUNNING, BatchOperation.Status.PAUSED],
        actual_start__lt=end,
    )
    finished = Q(status=BatchOperation.Status.DONE, actual_start__lt=end, actual_end__gt=start)
    return (
        BatchOperation.objects.for_tenant(site.tenant)
        .filter(machine__site=site)
        .filter(planned | started | finished)
        .select_related("batch", "batch__product", "batch__order_line__order")
        .order_by("machine_id", "planned_start", "actual_start", "id")
    )


def plan_maintenance_windows(
    *, site: Site, start: datetime, end: datetime
) -> QuerySet[MaintenanceWindow]:
    return (
        MaintenanceWindow.objects.for_tenant(site.tenant)
        .filter(machine__site=site, starts_at__lt=end, ends_at__gt=start)
        .order_by("machine_id", "starts_at")
    )


def unplanned_operation_count(*, site: Site) -> int:
    """Pending operations of the site's open batches that have no planned time (no machine can
    make them now)."""
    return (
        BatchOperation.objects.for_tenant(site.tenant)
        .filter(
            batch__site=site,
            status=BatchOperation.Status.PENDING,
            planned_start__isnull=True,
            batch__status__in=[
                Batch.Status.PLANNED,
                Batch.Status.SCHEDULED,
                Batch.Status.IN_PROGRESS,
            ],
        )
        .count()
    )
