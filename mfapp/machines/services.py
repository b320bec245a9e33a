from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, Conflict, NotFound
from mfapp.core.formatting import plain_decimal
from mfapp.core.transitions import change_status, lock
from mfapp.core.validation import clean_and_save
from mfapp.machines.models import EnergyReading, Machine, MaintenanceWindow
from mfapp.machines.selectors import (
    energy_cumulative_around,
    energy_intervals_overlapping,
    energy_readings_existing,
    machines_by_id,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import site_get

MACHINE_FIELDS = {
    "name",
    "kind",
    "capabilities",
    "rated_power_running_kw",
    "rated_power_idle_kw",
    "hourly_cost",
    "speed_factor",
    "changeover_minutes",
    "runs_unattended",
}

S = Machine.Status
# Statuses a person may set, by current status. "running" is set by operations only; a
# breakdown can take a running machine down (its operation is paused).
MANUAL_TRANSITIONS: dict[str, set[str]] = {
    S.AVAILABLE: {S.MAINTENANCE, S.DOWN},
    S.MAINTENANCE: {S.AVAILABLE, S.DOWN},
    S.DOWN: {S.AVAILABLE, S.MAINTENANCE},
    S.RUNNING: {S.DOWN},
}
MANUAL_STATUSES = {S.AVAILABLE, S.MAINTENANCE, S.DOWN}


@transaction.atomic
def machine_create(*, actor: Actor, site_id: int, **fields: Any) -> Machine:
    require_permission(actor, "machines.manage")
    reject_unknown_fields(fields, MACHINE_FIELDS)
    site = site_get(tenant=actor.tenant, site_id=site_id)
    machine = clean_and_save(Machine(tenant=actor.tenant, site=site, **fields))
    audit_record(
        actor=actor,
        verb="machine.created",
        target=machine,
        after={"site": site.pk, "kind": machine.kind, "capabilities": machine.capabilities},
    )
    return machine


@transaction.atomic
def machine_change_status(
    *, actor: Actor, machine: Machine, status: str, reason: str = ""
) -> Machine:
    """available / maintenance / down, set by a person. Taking a running machine down pauses
    its running operation so nothing stays "running" on a broken machine."""
    require_permission(actor, "machines.change_status")
    if status not in MANUAL_STATUSES:
        raise ApplicationError(
            f"Status {status!r} cannot be set by hand; choose available, maintenance or down."
        )
    if status != S.AVAILABLE and not reason.strip():
        raise ApplicationError(
            "Say why the machine is unavailable.", {"fields": {"reason": ["Required."]}}
        )
    machine = lock(actor, machine)
    if machine.status == status:
        raise Conflict(f"Machine {machine} is {machine.get_status_display().lower()} already.")
    if machine.status == S.RUNNING and status == S.MAINTENANCE:
        raise Conflict(
            f"Machine {machine} is running an operation; pause or finish it before maintenance."
        )
    if machine.status == S.RUNNING and status == S.DOWN:
        from mfapp.production.services import operations_pause_on_machine  # import cycle

        operations_pause_on_machine(actor=actor, machine=machine, reason=reason)
    machine = change_status(
        actor=actor,
        instance=machine,
        to=status,
        allowed_from={src for src, targets in MANUAL_TRANSITIONS.items() if status in targets},
        verb="machine.status_changed",
        changes={"status_reason": reason.strip(), "status_changed_at": timezone.now()},
        message=reason.strip(),
    )
    from mfapp.scheduling.services import schedule_run_request  # import cycle via production

    schedule_run_request(actor=actor, site=machine.site, trigger="machine_status")
    return machine


def machine_set_running(*, actor: Actor, machine: Machine, running: bool) -> Machine:
    """Used by operations (inside their transaction, with the machine locked)."""
    if running:
        return change_status(
            actor=actor,
            instance=machine,
            to=S.RUNNING,
            allowed_from={S.AVAILABLE},
            verb="machine.status_changed",
            changes={"status_reason": "", "status_changed_at": timezone.now()},
        )
    if machine.status != S.RUNNING:
        return machine  # taken down meanwhile: leave the person's status alone
    return change_status(
        actor=actor,
        instance=machine,
        to=S.AVAILABLE,
        allowed_from={S.RUNNING},
        verb="machine.status_changed",
        changes={"status_reason": "", "status_changed_at": timezone.now()},
    )


@transaction.atomic
def maintenance_window_create(
    *, actor: Actor, machine: Machine, starts_at: datetime, ends_at: datetime, reason: str
) -> MaintenanceWindow:
    require_permission(actor, "machines.manage")
    machine = lock(actor, machine)
    window = MaintenanceWindow(
        tenant=actor.tenant, machine=machine, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    overlapping = machine.maintenance_windows.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
    if overlapping.exists():
        raise ApplicationError(
            f"{machine} already has maintenance planned in that time; change that window instead."
        )
    clean_and_save(window)
    audit_record(
        actor=actor,
        verb="maintenance_window.created",
        target=window,
        after={"machine": machine.pk, "starts_at": str(starts_at), "ends_at": str(ends_at)},
    )
    from mfapp.scheduling.services import schedule_run_request  # import cycle via production

    schedule_run_request(actor=actor, site=machine.site, trigger="maintenance")
    return window


def machine_update(*, actor: Actor, machine: Machine, **fields: Any) -> Machine:
    """Specs only; status changes go through machine_change_status, site moves are refused."""
    return instance_update(
        actor=actor,
        instance=machine,
        fields=fields,
        allowed=MACHINE_FIELDS,
        permission="machines.manage",
    )


def machine_delete(*, actor: Actor, machine: Machine) -> None:
    instance_delete(actor=actor, instance=machine, permission="machines.manage")


def maintenance_window_delete(*, actor: Actor, window: MaintenanceWindow) -> None:
    instance_delete(actor=actor, instance=window, permission="machines.manage")


# --- energy readings ---------------------------------------------------------------------------
MAX_READINGS_PER_CALL = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)  # meters' clocks drift; more than this is an error
READING_FIELDS = {"machine_id", "recorded_at", "kwh", "kind", "interval_start", "source"}
READING_REQUIRED = ("machine_id", "recorded_at", "kwh", "kind")
MACHINE_NOT_FOUND = "Machine not found."
Kind = EnergyReading.Kind


@dataclass
class _Row:
    """One reading being checked: the unsaved row and what is wrong with it so far."""

    index: int
    reading: EnergyReading
    errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def energy_reading_record(
    *,
    actor: Actor,
    machine_id: int,
    recorded_at: datetime,
    kwh: Decimal,
    kind: str,
    interval_start: datetime | None = None,
    source: str = "",
) -> EnergyReading:
    """One meter reading of a machine (cumulative register or interval consumption)."""
    values = {
        "machine_id": machine_id,
        "recorded_at": recorded_at,
        "kwh": kwh,
        "kind": kind,
        "interval_start": interval_start,
        "source": source,
    }
    require_permission(actor, "machines.change_status")
    with transaction.atomic():
        rows = _readings_check(actor=actor, values=[values])
        [row] = rows
        if row.errors.get("machine_id") == [MACHINE_NOT_FOUND]:
            raise NotFound(MACHINE_NOT_FOUND)  # the same answer for another tenant's machine
        if row.errors:
            raise ApplicationError(_describe(row.errors), {"fields": row.errors})
        [reading] = _readings_save(actor=actor, rows=rows)
    return reading


def energy_reading_record_many(
    *, actor: Actor, readings: list[dict[str, Any]]
) -> list[EnergyReading]:
    """Up to 1,000 readings at once, all or nothing: one invalid reading saves none, and the
    error names every invalid one by its index in `readings` (extra.fields.readings)."""
    require_permission(actor, "machines.change_status")
    if not readings:
        raise ApplicationError(
            "Send at least one reading.", {"fields": {"readings": ["Send at least one reading."]}}
        )
    if len(readings) > MAX_READINGS_PER_CALL:
        message = (
            f"At most {MAX_READINGS_PER_CALL} readings per call, not {len(readings)}; "
            "send them in several calls."
        )
        raise ApplicationError(message, {"fields": {"readings": [message]}})
    with transaction.atomic():
        rows = _readings_check(actor=actor, values=readings)
        bad = [row for row in rows if row.errors]
        if bad:
            listed = ", ".join(str(row.index) for row in bad)
            raise ApplicationError(
                f"Nothing was saved: {len(bad)} of {len(rows)} readings are invalid "
                f"(index {listed}). Reading {bad[0].index}: {_describe(bad[0].errors)}",
                {"fields": {"readings": {str(row.index): row.errors for row in bad}}},
            )
        return _readings_save(actor=actor, rows=rows)


def _describe(errors: dict[str, list[str]]) -> str:
    return " ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def _readings_save(*, actor: Actor, rows: list[_Row]) -> list[EnergyReading]:
    saved = EnergyReading.objects.bulk_create([row.reading for row in rows])
    times = [reading.recorded_at for reading in saved]
    audit_record(
        actor=actor,
        verb="energy_readings.recorded",
        target=saved[0],
        after={
            "count": len(saved),
            "machines": sorted({reading.machine_id for reading in saved}),
            "recorded_from": min(times).isoformat(),
            "recorded_to": max(times).isoformat(),
        },
    )
    return saved


def _readings_check(*, actor: Actor, values: list[dict[str, Any]]) -> list[_Row]:
    """Every reading as an unsaved row with its errors: fields, machine, clock, duplicates,
    cumulative registers that go down, intervals that overlap. The machines stay locked until
    the transaction ends, so concurrent posts for one machine are checked one after the other.
    A fixed number of queries per machine, not per reading."""
    machine_ids = [v.get("machine_id") for v in values if isinstance(v, dict)]
    machines = machines_by_id(tenant=actor.tenant, machine_ids=machine_ids, for_update=True)
    rows = [_reading_build(actor, index, v, machines) for index, v in enumerate(values)]
    _check_duplicates(actor, rows)
    _check_cumulative_order(actor, rows)
    _check_interval_overlaps(actor, rows)
    return rows


def _reading_build(actor: Actor, index: int, values: Any, machines: dict[int, Machine]) -> _Row:
    row = _Row(index, EnergyReading(tenant=actor.tenant))
    if not isinstance(values, dict):
        row.refuse("non_field_errors", "Send each reading as an object.")
        return row
    for name in sorted(set(values) - READING_FIELDS):
        row.refuse(name, "Unknown or read-only field.")
    for name in READING_REQUIRED:
        if values.get(name) in (None, ""):
            row.refuse(name, "Required.")
    if row.errors:
        return row
    machine_id = values["machine_id"]
    machine = machines.get(machine_id) if type(machine_id) is int else None
    if machine is None:
        row.refuse("machine_id", MACHINE_NOT_FOUND)
        return row
    reading = row.reading
    reading.machine = machine
    reading.recorded_at = values["recorded_at"]
    reading.kind = values["kind"]
    reading.kwh = values["kwh"]
    reading.interval_start = values.get("interval_start")
    reading.source = values.get("source") or ""
    try:
        # tenant and machine come from the tenant's own rows: no need to query them again.
        reading.clean_fields(exclude={"tenant", "machine"})
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                row.refuse(name, message)
    for name in ("recorded_at", "interval_start"):
        value = getattr(reading, name)
        if name not in row.errors and value is not None and timezone.is_naive(value):
            row.refuse(name, "Give the time zone too, for example 2031-03-03T08:00:00Z.")
    if row.errors:
        return row
    try:
        reading.clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                row.refuse(name, message)
    if reading.recorded_at > timezone.now() + FUTURE_TOLERANCE:
        row.refuse(
            "recorded_at",
            "This time is in the future; check the meter's clock (it must not run ahead by "
            f"more than {FUTURE_TOLERANCE.seconds // 60} minutes).",
        )
    return row


def _valid(rows: list[_Row], kind: str | None = None) -> list[_Row]:
    return [r for r in rows if not r.errors and (kind is None or r.reading.kind == kind)]


def _check_duplicates(actor: Actor, rows: list[_Row]) -> None:
    """Meters resend: a reading of the same machine, kind and time is refused, whether it is
    stored already or repeated in this call."""
    valid = _valid(rows)
    if not valid:
        return
    stored = energy_readings_existing(
        tenant=actor.tenant,
        machine_ids={r.reading.machine_id for r in valid},
        recorded_at={r.reading.recorded_at for r in valid},
    )
    seen: dict[tuple[int, str, datetime], int] = {}
    for row in valid:
        reading = row.reading
        key = (reading.machine_id, reading.kind, reading.recorded_at)
        if key in stored:
            row.refuse("recorded_at", _unique_message())
        elif key in seen:
            row.refuse("recorded_at", f"Reading {seen[key]} has this machine, kind and time too.")
        else:
            seen[key] = row.index


def _unique_message() -> str:
    [constraint] = [c for c in EnergyReading._meta.constraints if c.name.endswith("per_time")]
    return str(constraint.violation_error_message)


def _check_cumulative_order(actor: Actor, rows: list[_Row]) -> None:
    """A meter register never goes down: each new cumulative reading must lie between the
    machine's readings before and after it (stored or in this call)."""
    by_machine: dict[int, list[_Row]] = defaultdict(list)
    for row in _valid(rows, Kind.CUMULATIVE):
        by_machine[row.reading.machine_id].append(row)
    for machine_id, new in by_machine.items():
        times = [r.reading.recorded_at for r in new]
        stored = energy_cumulative_around(
            tenant=actor.tenant, machine_id=machine_id, start=min(times), end=max(times)
        )
        series: list[tuple[datetime, Decimal, _Row | None]] = [(t, k, None) for t, k in stored]
        series += [(r.reading.recorded_at, Decimal(r.reading.kwh), r) for r in new]
        series.sort(key=lambda item: item[0])
        for (t1, kwh1, row1), (t2, kwh2, row2) in pairwise(series):
            if kwh2 >= kwh1:
                continue
            if row2 is not None:
                row2.refuse(
                    "kwh",
                    f"{plain_decimal(kwh2)} kWh is lower than this machine's previous cumulative "
                    f"reading ({plain_decimal(kwh1)} kWh at {t1.isoformat()}). If the meter was "
                    "reset or replaced, post interval readings instead.",
                )
            elif row1 is not None:
                row1.refuse(
                    "kwh",
                    f"{plain_decimal(kwh1)} kWh is higher than this machine's next cumulative "
                    f"reading ({plain_decimal(kwh2)} kWh at {t2.isoformat()}); a meter register "
                    "never goes down.",
                )


def _check_interval_overlaps(actor: Actor, rows: list[_Row]) -> None:
    """Interval readings of one machine must not overlap: the energy would count twice."""
    by_machine: dict[int, list[_Row]] = defaultdict(list)
    for row in _valid(rows, Kind.INTERVAL):
        by_machine[row.reading.machine_id].append(row)
    for machine_id, new in by_machine.items():
        stored = energy_intervals_overlapping(
            tenant=actor.tenant,
            machine_id=machine_id,
            start=min(r.reading.interval_start for r in new),
            end=max(r.reading.recorded_at for r in new),
        )
        spans: list[tuple[datetime, datetime, _Row | None]] = [(s, e, None) for s, e in stored]
        spans += [(r.reading.interval_start, r.reading.recorded_at, r) for r in new]
        spans.sort(key=lambda span: (span[0], span[1]))
        latest: tuple[datetime, datetime, _Row | None] | None = None  # the span ending last
        for span in spans:
            if latest is not None and span[0] < latest[1]:
                culprit, other = (span, latest) if span[2] is not None else (latest, span)
                if culprit[2] is not None:
                    culprit[2].refuse(
                        "interval_start",
                        f"This interval overlaps another interval reading of this machine "
                        f"({other[0].isoformat()} to {other[1].isoformat()}); its energy would "
                        "count twice.",
                    )
            if latest is None or span[1] > latest[1]:
                latest = span
