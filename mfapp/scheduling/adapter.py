"""From the database to the pure-Python core and back: one site's open operations as a core
`Problem` (integer minutes from an origin), plus the maps that turn a plan into datetimes.

Times: origin = now rounded down to the minute; every time is whole minutes from it. Working
hours are local clock times of the site, converted through zoneinfo day by day (so DST days
have 23 or 25 hours). Windows are rounded inwards (start up, end down): a plan never uses a
minute outside the calendar.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from mfapp.machines.models import Machine, MaintenanceWindow
from mfapp.production.models import Batch, BatchOperation
from mfapp.scheduling.core import Assignment, Job, Operation, Problem
from mfapp.scheduling.core import Machine as CoreMachine
from mfapp.tenancy.models import Site
from mfapp.tenancy.working_hours import WEEKDAYS

HORIZON_DAYS = 28
HORIZON_MINUTES = HORIZON_DAYS * 24 * 60
OPEN_BATCH_STATUSES = (Batch.Status.PLANNED, Batch.Status.SCHEDULED, Batch.Status.IN_PROGRESS)
OPEN_OPERATION_STATUSES = (
    BatchOperation.Status.PENDING,
    BatchOperation.Status.RUNNING,
    BatchOperation.Status.PAUSED,
)
STARTED_OPERATION_STATUSES = (BatchOperation.Status.RUNNING, BatchOperation.Status.PAUSED)
PLANNABLE_MACHINE_STATUSES = (Machine.Status.AVAILABLE, Machine.Status.RUNNING)

Windows = list[tuple[int, int]]


@dataclass
class SiteProblem:
    """The core problem of one site and what is needed to save its plan."""

    problem: Problem
    origin: datetime
    site: Site
    operations: dict[int, BatchOperation]  # every open operation, by id (core op id = pk)
    machines: dict[int, Machine]  # machines in the problem, by id (core machine id = pk)
    batches: dict[int, Batch]  # core job id = batch pk
    # Pending operations left out because no machine can do them (and those after them).
    unplannable: list[int] = field(default_factory=list)

    def to_datetime(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    def to_minute(self, moment: datetime) -> int:
        return minutes_between(self.origin, moment)


def minutes_between(origin: datetime, moment: datetime, *, up: bool = False) -> int:
    seconds = (moment - origin).total_seconds()
    return math.ceil(seconds / 60) if up else math.floor(seconds / 60)


def open_operations(*, site: Site) -> QuerySet[BatchOperation]:
    """The site's operations the scheduler plans (tenant-scoped), in routing order."""
    return (
        BatchOperation.objects.for_tenant(site.tenant)
        .filter(
            batch__site=site,
            batch__status__in=OPEN_BATCH_STATUSES,
            status__in=OPEN_OPERATION_STATUSES,
        )
        .select_related("batch", "batch__order_line__order", "machine")
        .order_by("batch_id", "sequence")
    )


def operation_minutes(*, operation: BatchOperation, quantity: int, machine: Machine) -> int:
    """ceil(setup + run minutes per unit x quantity / speed factor)."""
    run = Decimal(operation.run_minutes_per_unit) * quantity / Decimal(machine.speed_factor)
    return math.ceil(Decimal(operation.setup_minutes) + run)


def _clock(value: str) -> tuple[int, time]:
    """("24:00" -> next day's midnight) as (day offset, time)."""
    if value == "24:00":
        return 1, time(0, 0)
    hours, minutes = value.split(":")
    return 0, time(int(hours), int(minutes))


def _merge(windows: Windows) -> Windows:
    merged: Windows = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def working_windows(*, site: Site, origin: datetime, horizon: int = HORIZON_MINUTES) -> Windows:
    """The site's working hours as minute windows in [0, horizon), DST-safe."""
    tz = ZoneInfo(site.timezone)
    hours = site.working_hours or {}
    first_day = origin.astimezone(tz).date() - timedelta(days=1)
    windows: Windows = []
    for offset in range(horizon // (24 * 60) + 3):
        day = first_day + timedelta(days=offset)
        for start_text, end_text in hours.get(WEEKDAYS[day.weekday()], []):
            start_shift, start_time = _clock(start_text)
            end_shift, end_time = _clock(end_text)
            start = datetime.combine(day + timedelta(days=start_shift), start_time, tzinfo=tz)
            end = datetime.combine(day + timedelta(days=end_shift), end_time, tzinfo=tz)
            lo = max(0, minutes_between(origin, start, up=True))
            hi = min(horizon, minutes_between(origin, end))
            if hi > lo:
                windows.append((lo, hi))
    return _merge(windows)


def subtract(windows: Windows, holes: Windows) -> Windows:
    """`windows` without the (sorted or not) `holes`."""
    result: Windows = []
    holes = _merge(holes)
    for start, end in windows:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def due_minute(*, batch: Batch, origin: datetime, tz: ZoneInfo) -> int | None:
    """End of the order's due date in the site's time zone; stock batches have none."""
    if batch.order_line_id is None:
        return None
    due_date = batch.order_line.order.due_date
    end_of_day = datetime.combine(due_date + timedelta(days=1), time(0, 0), tzinfo=tz)
    return minutes_between(origin, end_of_day)


def build_problem(*, site: Site, now: datetime | None = None) -> SiteProblem:
    """One site's open operations as a core Problem (see the module docstring)."""
    tenant = site.tenant
    origin = (now or timezone.now()).replace(second=0, microsecond=0)
    tz = ZoneInfo(site.timezone)
    horizon_end = origin + timedelta(minutes=HORIZON_MINUTES)

    site_machines = list(Machine.objects.for_tenant(tenant).filter(site=site).order_by("id"))
    machines_by_id = {m.pk: m for m in site_machines}
    plannable = [m for m in site_machines if m.status in PLANNABLE_MACHINE_STATUSES]
    maintenance: dict[int, Windows] = defaultdict(list)
    for window in MaintenanceWindow.objects.for_tenant(tenant).filter(
        machine__site=site, ends_at__gt=origin, starts_at__lt=horizon_end
    ):
        maintenance[window.machine_id].append(
            (
                minutes_between(origin, window.starts_at),
                minutes_between(origin, window.ends_at, up=True),
            )
        )
    calendar = working_windows(site=site, origin=origin)

    def availability(machine: Machine) -> Windows:
        holes = maintenance.get(machine.pk, [])
        if machine.status not in PLANNABLE_MACHINE_STATUSES:
            return []  # only hosts a fixed operation
        if machine.runs_unattended:
            return subtract([(0, HORIZON_MINUTES)], holes)
        return subtract(calendar, holes)

    available = {m.pk: availability(m) for m in site_machines}
    # An operation runs in one window: a machine whose longest window is shorter cannot take
    # it (a 15-hour print on a mill staffed 12 hours a day), whatever its capabilities.
    longest = {pk: max((end - start for start, end in w), default=0) for pk, w in available.items()}

    operations = list(open_operations(site=site))
    by_batch: dict[int, list[BatchOperation]] = defaultdict(list)
    for operation in operations:
        by_batch[operation.batch_id].append(operation)

    used_machines: set[int] = {m.pk for m in plannable}
    jobs: list[Job] = []
    batches: dict[int, Batch] = {}
    unplannable: list[int] = []
    for batch_id, batch_ops in by_batch.items():
        batch = batch_ops[0].batch
        batches[batch_id] = batch
        core_ops: list[Operation] = []
        for index, operation in enumerate(batch_ops):
            quantity = batch.quantity_planned
            durations = {
                m.pk: minutes
                for m in plannable
                if m.has_capability(operation.capability)
                and (
                    minutes := operation_minutes(operation=operation, quantity=quantity, machine=m)
                )
                <= longest[m.pk]
            }
            fixed = None
            if (
                operation.status in STARTED_OPERATION_STATUSES
                and operation.machine_id is not None
                and operation.actual_start is not None
                and all(op.fixed is not None for op in core_ops)
            ):
                machine = machines_by_id[operation.machine_id]
                start = minutes_between(origin, operation.actual_start)
                length = operation_minutes(operation=operation, quantity=quantity, machine=machine)
                fixed = Assignment(machine=machine.pk, start=start, end=max(1, start + length))
                used_machines.add(machine.pk)
            elif not durations:
                unplannable.extend(op.pk for op in batch_ops[index:])
                break
            previous = None
            if (
                operation.machine_id in durations
                and operation.planned_start is not None
                and operation.planned_end is not None
            ):
                previous = Assignment(
                    machine=operation.machine_id,
                    start=minutes_between(origin, operation.planned_start),
                    end=minutes_between(origin, operation.planned_end),
                )
            core_ops.append(
                Operation(
                    id=operation.pk,
                    durations=durations,
                    material=str(operation.material_id) if operation.material_id else None,
                    fixed=fixed,
                    previous=previous,
                )
            )
        if not core_ops:
            continue
        release = 0
        if batch.release_at is not None:
            release = max(0, minutes_between(origin, batch.release_at, up=True))
        weight = batch.order_line.order.priority if batch.order_line_id else 1
        jobs.append(
            Job(
                id=batch_id,
                operations=tuple(core_ops),
                release=release,
                due=due_minute(batch=batch, origin=origin, tz=tz),
                weight=int(weight),
            )
        )

    core_machines = [
        CoreMachine(
            id=machine.pk,
            changeover=machine.changeover_minutes,
            available=tuple(available[machine.pk]),
        )
        for machine in site_machines
        if machine.pk in used_machines
    ]
    problem = Problem(machines=tuple(core_machines), jobs=tuple(jobs), now=0)
    return SiteProblem(
        problem=problem,
        origin=origin,
        site=site,
        operations={op.pk: op for op in operations},
        machines={m.id: machines_by_id[m.id] for m in core_machines},
        batches=batches,
        unplannable=unplannable,
    )
