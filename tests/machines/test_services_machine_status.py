import pytest

from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.machines.models import Machine
from mfapp.machines.services import MANUAL_TRANSITIONS, machine_change_status
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import operation_resume, operation_start
from tests.factories import (
    MachineFactory,
    audit_count,
    audit_events,
    batch_with_operations,
    machine_for,
    member_actor,
)

M = Machine.Status
O = BatchOperation.Status  # noqa: E741
LEGAL = [
    (M.AVAILABLE, M.MAINTENANCE),
    (M.AVAILABLE, M.DOWN),
    (M.MAINTENANCE, M.AVAILABLE),
    (M.MAINTENANCE, M.DOWN),
    (M.DOWN, M.AVAILABLE),
    (M.DOWN, M.MAINTENANCE),
    (M.RUNNING, M.DOWN),
]


def test_the_manual_transitions_are_the_documented_ones():
    assert {(src, dst) for src, targets in MANUAL_TRANSITIONS.items() for dst in targets} == set(
        LEGAL
    )


@pytest.mark.parametrize(("current", "wanted"), LEGAL)
def test_legal_status_changes(tenant, current, wanted):
    operator = member_actor(tenant, "operator")
    machine = MachineFactory(tenant=tenant, status=current)

    machine_change_status(actor=operator, machine=machine, status=wanted, reason="  Belt check ")

    machine.refresh_from_db()
    assert machine.status == wanted
    assert machine.status_reason == "Belt check"
    assert machine.status_changed_at is not None
    [event] = audit_events(tenant, verb="machine.status_changed", target=machine)
    assert event.before == {"status": current}
    assert event.after == {
        "status": wanted,
        "status_reason": "Belt check",
        "status_changed_at": str(machine.status_changed_at),
    }
    assert (event.message, event.actor_label) == ("Belt check", operator.label)


def test_back_to_available_needs_no_reason(tenant, system):
    machine = MachineFactory(tenant=tenant, status=M.DOWN, status_reason="Broken fan")

    machine_change_status(actor=system, machine=machine, status=M.AVAILABLE)

    machine.refresh_from_db()
    assert (machine.status, machine.status_reason) == (M.AVAILABLE, "")


def _refused(tenant, system, machine, status, error, message, reason="Because"):
    before = machine.status
    events = audit_count(tenant)
    with pytest.raises(error) as exc_info:
        machine_change_status(actor=system, machine=machine, status=status, reason=reason)
    assert exc_info.type is error
    assert exc_info.value.message == message
    machine.refresh_from_db()
    assert machine.status == before
    assert machine.status_changed_at is None
    assert audit_count(tenant) == events
    return exc_info.value


@pytest.mark.parametrize("status", [M.AVAILABLE, M.MAINTENANCE, M.DOWN])
def test_same_status_is_a_conflict(tenant, system, status):
    machine = MachineFactory(tenant=tenant, status=status, name="Prusa 1")

    _refused(
        tenant,
        system,
        machine,
        status,
        Conflict,
        f"Machine Prusa 1 is {status.label.lower()} already.",
    )


def test_running_to_maintenance_is_a_conflict(tenant, system):
    machine = MachineFactory(tenant=tenant, status=M.RUNNING, name="Prusa 2")

    _refused(
        tenant,
        system,
        machine,
        M.MAINTENANCE,
        Conflict,
        "Machine Prusa 2 is running an operation; pause or finish it before maintenance.",
    )


def test_running_to_available_is_a_conflict(tenant, system):
    machine = MachineFactory(tenant=tenant, status=M.RUNNING, name="Prusa 3")

    error = _refused(
        tenant,
        system,
        machine,
        M.AVAILABLE,
        Conflict,
        "Cannot move machine Prusa 3 to available: it is running.",
    )
    assert error.extra == {"status": "running", "allowed_from": ["down", "maintenance"]}


@pytest.mark.parametrize("current", [M.AVAILABLE, M.RUNNING, M.DOWN])
@pytest.mark.parametrize("wanted", ["running", "broken"])
def test_running_or_unknown_statuses_cannot_be_set_by_hand(tenant, system, current, wanted):
    machine = MachineFactory(tenant=tenant, status=current)

    _refused(
        tenant,
        system,
        machine,
        wanted,
        ApplicationError,
        f"Status '{wanted}' cannot be set by hand; choose available, maintenance or down.",
    )


@pytest.mark.parametrize("status", [M.MAINTENANCE, M.DOWN])
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required_for_maintenance_and_down(tenant, system, status, reason):
    machine = MachineFactory(tenant=tenant, status=M.AVAILABLE)

    error = _refused(
        tenant,
        system,
        machine,
        status,
        ApplicationError,
        "Say why the machine is unavailable.",
        reason=reason,
    )
    assert error.extra == {"fields": {"reason": ["Required."]}}


def test_taking_a_running_machine_down_pauses_its_operation(tenant, system):
    batch = batch_with_operations(tenant, ["fdm-print"])
    operation = batch.operations.get()
    printer = machine_for(batch.site)
    operation_start(actor=system, operation=operation, machine_id=printer.pk)

    machine_change_status(actor=system, machine=printer, status=M.DOWN, reason="Hotend jam")

    printer.refresh_from_db()
    operation.refresh_from_db()
    batch.refresh_from_db()
    assert (printer.status, printer.status_reason) == (M.DOWN, "Hotend jam")
    assert (operation.status, operation.machine_id) == (O.PAUSED, printer.pk)
    assert batch.status == Batch.Status.IN_PROGRESS
    [paused] = audit_events(tenant, verb="operation.paused", target=operation)
    assert (paused.before, paused.after, paused.message, paused.actor_label) == (
        {"status": "running"},
        {"status": "paused"},
        "Machine down: Hotend jam",
        "system",
    )
    assert audit_events(tenant, verb="machine.status_changed", target=printer)[-1].before == {
        "status": "running"
    }

    # the operation resumes only once the machine is available again
    with pytest.raises(Conflict):
        operation_resume(actor=system, operation=operation)
    machine_change_status(actor=system, machine=printer, status=M.AVAILABLE)
    operation_resume(actor=system, operation=operation)
    printer.refresh_from_db()
    operation.refresh_from_db()
    assert (printer.status, operation.status) == (M.RUNNING, O.RUNNING)


def test_viewer_cannot_change_a_machine_status(tenant):
    machine = MachineFactory(tenant=tenant)

    with pytest.raises(PermissionDenied):
        machine_change_status(
            actor=member_actor(tenant, "viewer"), machine=machine, status=M.DOWN, reason="x"
        )

    machine.refresh_from_db()
    assert machine.status == M.AVAILABLE
