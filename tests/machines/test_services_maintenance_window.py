from datetime import datetime, timedelta

import pytest

from mfapp.core.exceptions import ApplicationError, PermissionDenied
from mfapp.machines.models import MaintenanceWindow
from mfapp.machines.services import maintenance_window_create
from tests.factories import (
    MachineFactory,
    MaintenanceWindowFactory,
    audit_count,
    audit_events,
    member_actor,
)

T0 = datetime.fromisoformat("2031-03-03T08:00:00+00:00")


def _windows(tenant):
    return MaintenanceWindow.objects.for_tenant(tenant).count()


def test_create_a_window(tenant):
    manager = member_actor(tenant)
    machine = MachineFactory(tenant=tenant)

    window = maintenance_window_create(
        actor=manager,
        machine=machine,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=4),
        reason="Calibration",
    )

    window.refresh_from_db()
    assert (window.machine_id, window.starts_at, window.ends_at, window.reason) == (
        machine.id,
        T0,
        T0 + timedelta(hours=4),
        "Calibration",
    )
    [event] = audit_events(tenant, verb="maintenance_window.created", target=window)
    assert event.after == {
        "machine": machine.pk,
        "starts_at": str(T0),
        "ends_at": str(T0 + timedelta(hours=4)),
    }
    assert event.actor_label == manager.label


@pytest.mark.parametrize(
    ("start_hours", "end_hours"),
    [(1, 3), (-1, 1), (3, 5), (-1, 5), (0, 4)],
    ids=["inside", "overlaps-start", "overlaps-end", "covers", "same"],
)
def test_overlapping_windows_are_refused(tenant, system, start_hours, end_hours):
    machine = MachineFactory(tenant=tenant, name="Mill")
    MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=T0, ends_at=T0 + timedelta(hours=4)
    )
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        maintenance_window_create(
            actor=system,
            machine=machine,
            starts_at=T0 + timedelta(hours=start_hours),
            ends_at=T0 + timedelta(hours=end_hours),
            reason="Again",
        )

    assert exc_info.value.message == (
        "Mill already has maintenance planned in that time; change that window instead."
    )
    assert _windows(tenant) == 1
    assert audit_count(tenant) == events


def test_adjacent_windows_and_other_machines_do_not_overlap(tenant, system):
    machine = MachineFactory(tenant=tenant)
    other = MachineFactory(tenant=tenant, site=machine.site)
    MaintenanceWindowFactory(
        tenant=tenant, machine=machine, starts_at=T0, ends_at=T0 + timedelta(hours=4)
    )

    maintenance_window_create(
        actor=system,
        machine=machine,
        starts_at=T0 + timedelta(hours=4),
        ends_at=T0 + timedelta(hours=6),
        reason="Right after",
    )
    maintenance_window_create(
        actor=system,
        machine=machine,
        starts_at=T0 - timedelta(hours=2),
        ends_at=T0,
        reason="Right before",
    )
    maintenance_window_create(
        actor=system,
        machine=other,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=4),
        reason="Other machine",
    )

    assert _windows(tenant) == 4


@pytest.mark.parametrize("hours", [0, -2], ids=["zero-length", "ends-before-start"])
def test_a_window_must_end_after_it_starts(tenant, system, hours):
    machine = MachineFactory(tenant=tenant)
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        maintenance_window_create(
            actor=system,
            machine=machine,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=hours),
            reason="Backwards",
        )

    assert exc_info.value.message == "A maintenance window must end after it starts."
    assert exc_info.value.extra == {
        "fields": {"non_field_errors": ["A maintenance window must end after it starts."]}
    }
    assert _windows(tenant) == 0
    assert audit_count(tenant) == events


def test_operator_cannot_plan_maintenance(tenant):
    machine = MachineFactory(tenant=tenant)

    with pytest.raises(PermissionDenied):
        maintenance_window_create(
            actor=member_actor(tenant, "operator"),
            machine=machine,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=1),
            reason="x",
        )

    assert _windows(tenant) == 0
