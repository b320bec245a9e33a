"""Reads for the shop-floor pages: per machine, what runs on it now and what comes next, and a
fingerprint of exactly that, so a polling tablet redraws only when something it shows changed.

The plan lives on the operations themselves: the scheduler (`mfapp.scheduling.services.
_plan_save`) writes `machine`, `planned_start` and `planned_end` on every *pending* operation it
places, so "next on this machine" is the machine's pending operations ordered by planned start.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from mfapp.machines.models import Machine
from mfapp.machines.selectors import MACHINES_SHOWN, machine_get
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Site, Tenant

O = BatchOperation.Status  # noqa: E741
B = Batch.Status
# Operations that sit on a machine: running, or paused there (the machine keeps them).
CURRENT = (O.RUNNING, O.PAUSED)
# Batches whose pending operations may still start (see `operation_start`).
STARTABLE_BATCH = (B.PLANNED, B.SCHEDULED, B.IN_PROGRESS)
UPCOMING_LIMIT = 5


def fingerprint(*parts: object) -> str:
    """A short, stable digest of what a page shows; equal digests mean nothing to redraw."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def _operations(tenant: Tenant) -> QuerySet[BatchOperation]:
    """Operations with their batch and product, whether an earlier operation of the batch is
    still unfinished (`waiting`), the good units of the last finished earlier operation
    (`good_so_far`, None before the first one finishes) and how many units reach them
    (`units_in`: those good units, else the batch's planned quantity, as `operation_finish`
    counts them)."""
    scoped = BatchOperation.objects.for_tenant(tenant)
    earlier = scoped.filter(batch=OuterRef("batch"), sequence__lt=OuterRef("sequence"))
    previous_good = earlier.filter(status=O.DONE).order_by("-sequence").values("quantity_good")[:1]
    return (
        scoped.select_related("batch__product")
        .annotate(
            waiting=Exists(earlier.exclude(status__in=[O.DONE, O.CANCELLED])),
            good_so_far=Subquery(previous_good, output_field=IntegerField()),
        )
        .annotate(
            units_in=Coalesce(
                F("good_so_far"), F("batch__quantity_planned"), output_field=IntegerField()
            )
        )
    )


def _mark_release(operations: list[BatchOperation], now: datetime) -> None:
    """`not_before`: the batch's release time while it is still ahead (it cannot start yet)."""
    for operation in operations:
        release_at = operation.batch.release_at
        ahead = release_at is not None and release_at > now
        operation.not_before = release_at if ahead else None  # type: ignore[attr-defined]


def _operation_state(operation: BatchOperation) -> tuple[object, ...]:
    return (
        operation.pk,
        operation.status,
        operation.machine_id,
        operation.planned_start,
        operation.updated_at,
        operation.waiting,  # type: ignore[attr-defined]
        operation.not_before,  # type: ignore[attr-defined]
        operation.batch.status,
        operation.batch.updated_at,
    )


# --- one machine -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MachineBoard:
    """What a machine's tablet shows. `upcoming` comes from the scheduler's plan when
    `planned` is true, else it lists ready operations this machine could take."""

    machine: Machine
    current: list[BatchOperation]
    upcoming: list[BatchOperation]
    planned: bool
    fingerprint: str

    @property
    def running(self) -> BatchOperation | None:
        return next((op for op in self.current if op.status == O.RUNNING), None)


def machine_board_get(
    *, tenant: Tenant, machine_id: int, limit: int = UPCOMING_LIMIT
) -> MachineBoard:
    """The machine, its current operations (running first, then paused) and the next ones:
    pending operations planned on it by planned start (unscheduled ones last); when none is
    planned, ready operations of its site that need one of its capabilities and are not
    planned on another machine, most urgent order first. Four queries."""
    machine = machine_get(tenant=tenant, machine_id=machine_id)
    operations = _operations(tenant)
    current = sorted(
        operations.filter(machine=machine, status__in=CURRENT).order_by("actual_start", "pk"),
        key=lambda op: op.status != O.RUNNING,
    )
    upcoming = list(
        operations.filter(
            machine=machine, status=O.PENDING, batch__status__in=STARTABLE_BATCH
        ).order_by(F("planned_start").asc(nulls_last=True), "batch_id", "sequence")[:limit]
    )
    planned = bool(upcoming)
    if not planned:
        upcoming = list(
            operations.filter(
                machine__isnull=True,
                status=O.PENDING,
                waiting=False,
                capability__in=machine.capabilities,
                batch__site_id=machine.site_id,
                batch__status__in=STARTABLE_BATCH,
            ).order_by(
                F("batch__order_line__order__due_date").asc(nulls_last=True),
                "batch__created_at",
                "batch_id",
                "sequence",
            )[:limit]
        )
    now = timezone.now()
    _mark_release(current + upcoming, now)
    digest = fingerprint(
        machine.pk,
        machine.status,
        machine.status_reason,
        machine.updated_at,
        planned,
        [_operation_state(op) for op in current + upcoming],
    )
    return MachineBoard(
        machine=machine, current=current, upcoming=upcoming, planned=planned, fingerprint=digest
    )


# --- every machine ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MachineTile:
    machine: Machine
    current: list[BatchOperation]

    @property
    def running(self) -> BatchOperation | None:
        return next((op for op in self.current if op.status == O.RUNNING), None)


@dataclass(frozen=True)
class SiteTiles:
    site: Site
    tiles: list[MachineTile]


@dataclass(frozen=True)
class ShopfloorOverview:
    sites: list[SiteTiles]
    fingerprint: str
    more: bool = False  # more machines than MACHINES_SHOWN: the first ones only have tiles
    shown: int = MACHINES_SHOWN


def shopfloor_overview_get(*, tenant: Tenant) -> ShopfloorOverview:
    """Every machine of the tenant by site (site name, then machine name) with what runs or is
    paused on it, how many operations are planned on it and when the next one starts. Three
    queries, however many machines."""
    machines = list(
        Machine.objects.for_tenant(tenant)
        .select_related("site")
        .order_by("site__name", "site_id", "name", "pk")[: MACHINES_SHOWN + 1]
    )
    more = len(machines) > MACHINES_SHOWN
    machines = machines[:MACHINES_SHOWN]
    # Counted from the pending operations alone (an index range), not by joining every
    # operation the machines ever ran: a busy tenant's history made that most of the page.
    queued = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(
            machine__in=[m.pk for m in machines],
            status=O.PENDING,
            batch__status__in=STARTABLE_BATCH,
        )
        .order_by()
        .values("machine_id")
        .annotate(n=Count("*"), first_start=Min("planned_start"))
    )
    queue = {row["machine_id"]: (row["n"], row["first_start"]) for row in queued}
    for machine in machines:
        machine.planned_count, machine.next_planned_start = queue.get(machine.pk, (0, None))
    by_machine: dict[int, list[BatchOperation]] = {}
    for operation in (
        BatchOperation.objects.for_tenant(tenant)
        .filter(machine__in=[m.pk for m in machines], status__in=CURRENT)
        .select_related("batch__product")
        .order_by("actual_start", "pk")
    ):
        by_machine.setdefault(operation.machine_id, []).append(operation)
    for current in by_machine.values():
        current.sort(key=lambda op: op.status != O.RUNNING)
    sites = [
        SiteTiles(
            site=site,
            tiles=[MachineTile(machine=m, current=by_machine.get(m.pk, [])) for m in group],
        )
        for site, group in groupby(machines, key=lambda m: m.site)
    ]
    digest = fingerprint(
        [
            (
                m.pk,
                m.name,
                m.status,
                m.status_reason,
                m.updated_at,
                m.planned_count,  # type: ignore[attr-defined]
                m.next_planned_start,  # type: ignore[attr-defined]
            )
            for m in machines
        ],
        [
            (op.pk, op.status, op.machine_id, op.updated_at)
            for ops in by_machine.values()
            for op in ops
        ],
    )
    return ShopfloorOverview(sites=sites, fingerprint=digest, more=more)
