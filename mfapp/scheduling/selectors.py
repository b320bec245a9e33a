from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Q, QuerySet

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


@dataclass(frozen=True)
class PlannedOperation:
    """An operation as the Gantt chart draws it, with its batch's lot, product and order."""

    id: int
    batch_id: int
    machine_id: int
    sequence: int
    name: str
    status: str
    planned_start: datetime | None
    planned_end: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    lot_code: str
    product_name: str
    order_id: int | None  # None for a batch made to stock
    order_number: str | None
    due_date: date | None

    @property
    def status_display(self) -> str:
        return BatchOperation.Status(self.status).label


def plan_operations(*, site: Site, start: datetime, end: datetime) -> list[PlannedOperation]:
    """Operations on the site's machines that occupy [start, end): planned ones by their planned
    times, started ones from their actual start, finished ones by their actual times.

    Read as values, not models: a busy site's week is a thousand operations, and building five
    model instances for each was most of the chart's time."""
    planned = Q(status=BatchOperation.Status.PENDING, planned_start__lt=end, planned_end__gt=start)
    started = Q(
        status__in=[BatchOperation.Status.RUNNING, BatchOperation.Status.PAUSED],
        actual_start__lt=end,
    )
    finished = Q(status=BatchOperation.Status.DONE, actual_start__lt=end, actual_end__gt=start)
    rows = (
        BatchOperation.objects.for_tenant(site.tenant)
        .filter(machine__site=site)
        .filter(planned | started | finished)
        .order_by("machine_id", "planned_start", "actual_start", "id")
        .values(
            "id",
            "batch_id",
            "machine_id",
            "sequence",
            "name",
            "status",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            lot_code=F("batch__lot_code"),
            product_name=F("batch__product__name"),
            order_id=F("batch__order_line__order_id"),
            order_number=F("batch__order_line__order__number"),
            due_date=F("batch__order_line__order__due_date"),
        )
    )
    return [PlannedOperation(**row) for row in rows]


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
