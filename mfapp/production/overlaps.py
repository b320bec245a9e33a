"""No double booking: two operations that occupy one machine must not overlap in time.

An operation *occupies* its machine when it is pending, running or paused, has a machine and
both planned times. Planned intervals are half-open, [start, end): one operation may start the
minute the previous one ends.

The rule is kept twice:

- on PostgreSQL by an exclusion constraint (btree_gist, ``operation_no_double_booking``, added
  by migration 0003 only there). It is DEFERRABLE INITIALLY DEFERRED, so the scheduler's
  ``bulk_update`` may pass through overlapping intermediate states; only the committed plan
  must be consistent (an overlap raises IntegrityError at COMMIT);
- everywhere (and the only guard on SQLite) by :func:`operations_overlap_check`, which the
  services run inside their transaction after they gave operations a machine and times.
  SQLite serialises writers (one write transaction at a time), so a check that runs after the
  writes and before the commit sees every other committed plan.

The constraint is not in ``BatchOperation.Meta.constraints``: ExclusionConstraint is
PostgreSQL-only SQL and would break migrations on SQLite. See docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from mfapp.core.exceptions import Conflict
from mfapp.production.models import BatchOperation

O = BatchOperation.Status  # noqa: E741
OCCUPYING_STATUSES = (O.PENDING, O.RUNNING, O.PAUSED)
CONSTRAINT_NAME = "operation_no_double_booking"


def occupying_q() -> Q:
    """Operations that occupy their machine (the exclusion constraint's condition)."""
    return Q(
        status__in=OCCUPYING_STATUSES,
        machine__isnull=False,
        planned_start__isnull=False,
        planned_end__isnull=False,
    )


def operations_overlap_check(*, tenant: Any, machine_ids: Iterable[int | None]) -> None:
    """Raise Conflict when two occupying operations of one of `machine_ids` overlap."""
    ids = sorted({pk for pk in machine_ids if pk is not None})
    if not ids:
        return
    rows = (
        BatchOperation.objects.for_tenant(tenant)
        .filter(occupying_q(), machine_id__in=ids)
        .order_by("machine_id", "planned_start", "planned_end", "id")
        .values_list(
            "id",
            "machine_id",
            "planned_start",
            "planned_end",
            "batch__lot_code",
            "sequence",
            "machine__name",
        )
    )
    previous: tuple[Any, ...] | None = None
    for row in rows:
        _, machine_id, start, end, *_ = row
        if end <= start:  # an empty interval occupies nothing
            continue
        if previous is not None and previous[1] == machine_id and start < previous[3]:
            raise Conflict(
                f"Double booking on machine {row[6]}: operation {previous[4]}/{previous[5]} "
                f"({previous[2]:%Y-%m-%d %H:%M} to {previous[3]:%H:%M}) overlaps operation "
                f"{row[4]}/{row[5]} ({start:%Y-%m-%d %H:%M} to {end:%H:%M}) UTC.",
                {
                    "machine": machine_id,
                    "operations": [previous[0], row[0]],
                },
            )
        if previous is None or previous[1] != machine_id or end > previous[3]:
            previous = row
