from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from mfapp.audit.models import AuditEvent
from mfapp.audit.selectors import audit_event_list
from mfapp.core.exceptions import NotFound
from mfapp.core.fields import MAX_ID
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.production.models import BatchOperation
from mfapp.tenancy.models import Tenant

# The largest id a database row can have (BigAutoField); larger numbers match no row.


def machine_get(*, tenant: Tenant, machine_id: int) -> Machine:
    try:
        return Machine.objects.for_tenant(tenant).select_related("site").get(pk=machine_id)
    except (Machine.DoesNotExist, ValueError, TypeError):
        raise NotFound("Machine not found.") from None


def machine_list(
    *, tenant: Tenant, site_id: int | None = None, status: str | None = None
) -> QuerySet[Machine]:
    qs = Machine.objects.for_tenant(tenant).select_related("site").order_by("site__name", "name")
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if status:
        qs = qs.filter(status=status)
    return qs


# The most machines a page lists (the machines board, the shop floor's tiles), by site and name;
# the page says when there are more. Microfactories have tens of machines.
MACHINES_SHOWN = 200


def machine_list_with_activity(*, tenant: Tenant, now: datetime | None = None) -> QuerySet[Machine]:
    """`machine_list` for the machines pages: each machine also carries the operations running
    on it (`running_operations`, with their batch) and its maintenance windows that are not
    over yet (`upcoming_windows`, soonest first). Three queries whatever the number of rows."""
    now = now or timezone.now()
    running = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(status=BatchOperation.Status.RUNNING)
        .select_related("batch")
        .order_by("actual_start", "id")
    )
    upcoming = (
        MaintenanceWindow.objects.for_tenant(tenant)
        .filter(ends_at__gt=now)
        .order_by("starts_at", "id")
    )
    return machine_list(tenant=tenant).prefetch_related(
        Prefetch("operations", queryset=running, to_attr="running_operations"),
        Prefetch("maintenance_windows", queryset=upcoming, to_attr="upcoming_windows"),
    )


def machine_get_with_activity(
    *, tenant: Tenant, machine_id: int, now: datetime | None = None
) -> Machine:
    """One machine as `machine_list_with_activity` gives it."""
    try:
        return machine_list_with_activity(tenant=tenant, now=now).get(pk=machine_id)
    except (Machine.DoesNotExist, ValueError, TypeError):
        raise NotFound("Machine not found.") from None


def machine_status_history(*, tenant: Tenant, machine_id: int, limit: int = 10) -> list[AuditEvent]:
    """The machine's latest status changes (by people and by operations), newest first."""
    events = audit_event_list(
        tenant=tenant, target_type=Machine._meta.label_lower, target_id=machine_id
    ).filter(verb="machine.status_changed")
    return list(events.order_by("-created_at", "-id")[:limit])


def machine_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Machine.objects.for_tenant(tenant).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def machines_by_id(
    *, tenant: Tenant, machine_ids: Iterable[int], for_update: bool = False
) -> dict[int, Machine]:
    """The tenant's machines among `machine_ids`, by id; unknown and other tenants' ids are
    simply absent. `for_update` locks them in id order (call it inside a transaction)."""
    wanted = {i for i in machine_ids if type(i) is int and 0 < i <= MAX_ID}
    if not wanted:
        return {}
    qs = Machine.objects.for_tenant(tenant).filter(pk__in=wanted).order_by("pk")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return {machine.pk: machine for machine in qs}


def maintenance_window_get(*, tenant: Tenant, window_id: int) -> MaintenanceWindow:
    try:
        return MaintenanceWindow.objects.for_tenant(tenant).get(pk=window_id)
    except (MaintenanceWindow.DoesNotExist, ValueError, TypeError):
        raise NotFound("Maintenance window not found.") from None


def maintenance_window_list(
    *, tenant: Tenant, machine_id: int | None = None
) -> QuerySet[MaintenanceWindow]:
    qs = MaintenanceWindow.objects.for_tenant(tenant).order_by("starts_at", "id")
    return qs.filter(machine_id=machine_id) if machine_id is not None else qs


def machine_maintenance_windows(
    *, tenant: Tenant, machine_id: int, now: datetime | None = None, past_limit: int = 10
) -> tuple[list[MaintenanceWindow], list[MaintenanceWindow]]:
    """A machine's maintenance windows that are not over yet (soonest first) and its latest
    `past_limit` finished ones (latest first)."""
    now = now or timezone.now()
    windows = maintenance_window_list(tenant=tenant, machine_id=machine_id)
    upcoming = list(windows.filter(ends_at__gt=now))
    past = list(windows.filter(ends_at__lte=now).order_by("-starts_at", "-id")[:past_limit])
    return upcoming, past


def energy_reading_get(*, tenant: Tenant, reading_id: int) -> EnergyReading:
    try:
        return EnergyReading.objects.for_tenant(tenant).get(pk=reading_id)
    except (EnergyReading.DoesNotExist, ValueError, TypeError):
        raise NotFound("Energy reading not found.") from None


def energy_reading_list(
    *, tenant: Tenant, machine_id: int | None = None
) -> QuerySet[EnergyReading]:
    qs = EnergyReading.objects.for_tenant(tenant).order_by("recorded_at", "id")
    return qs.filter(machine_id=machine_id) if machine_id is not None else qs


def energy_readings_existing(
    *, tenant: Tenant, machine_ids: Iterable[int], recorded_at: Iterable[datetime]
) -> set[tuple[int, str, datetime]]:
    """(machine id, kind, recorded_at) of the stored readings at any of these times."""
    rows = (
        EnergyReading.objects.for_tenant(tenant)
        .filter(machine_id__in=set(machine_ids), recorded_at__in=set(recorded_at))
        .values_list("machine_id", "kind", "recorded_at")
    )
    return set(rows)


def energy_cumulative_around(
    *, tenant: Tenant, machine_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, Decimal]]:
    """A machine's stored cumulative readings from `start` to `end` (both included), with the
    last one before and the first one after: every neighbour a new reading in that range has.
    As (recorded_at, kwh), oldest first."""
    qs = EnergyReading.objects.for_tenant(tenant).filter(
        machine_id=machine_id, kind=EnergyReading.Kind.CUMULATIVE
    )
    fields = ("recorded_at", "kwh")
    before = qs.filter(recorded_at__lt=start).order_by("-recorded_at").values_list(*fields)[:1]
    within = qs.filter(recorded_at__gte=start, recorded_at__lte=end).order_by("recorded_at")
    after = qs.filter(recorded_at__gt=end).order_by("recorded_at").values_list(*fields)[:1]
    return [*before, *within.values_list(*fields), *after]


def energy_intervals_overlapping(
    *, tenant: Tenant, machine_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """A machine's stored interval readings that overlap [start, end), as (start, end)."""
    return list(
        EnergyReading.objects.for_tenant(tenant)
        .filter(
            machine_id=machine_id,
            kind=EnergyReading.Kind.INTERVAL,
            interval_start__lt=end,
            recorded_at__gt=start,
        )
        .order_by("interval_start")
        .values_list("interval_start", "recorded_at")
    )
