from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, Conflict
from mfapp.core.transitions import change_status, lock
from mfapp.core.validation import clean_and_save
from mfapp.machines.models import Machine, MaintenanceWindow
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
    return change_status(
        actor=actor,
        instance=machine,
        to=status,
        allowed_from={src for src, targets in MANUAL_TRANSITIONS.items() if status in targets},
        verb="machine.status_changed",
        changes={"status_reason": reason.strip(), "status_changed_at": timezone.now()},
        message=reason.strip(),
    )


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
