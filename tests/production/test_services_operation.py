from datetime import timedelta

import pytest
from django.utils import timezone

from mfapp.catalog.capabilities import Capability
from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.machines.models import Machine
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import (
    operation_finish,
    operation_pause,
    operation_resume,
    operation_start,
)
from tests.factories import (
    SiteFactory,
    audit_count,
    audit_events,
    batch_with_operations,
    machine_for,
    member_actor,
)

B = Batch.Status
O = BatchOperation.Status  # noqa: E741
M = Machine.Status


def _setup(tenant, **batch_fields):
    """A planned batch of 10 with operations 10 (FDM) and 20 (FDM), and an available printer."""
    batch = batch_with_operations(tenant, quantity_planned=10, **batch_fields)
    first, second = batch.operations.order_by("sequence")
    return batch, first, second, machine_for(batch.site)


def _state(batch, operation, machine):
    for obj in (batch, operation, machine):
        obj.refresh_from_db()
    return batch.status, operation.status, machine.status


def _running(tenant, system, **batch_fields):
    batch, first, second, printer = _setup(tenant, **batch_fields)
    operation_start(actor=system, operation=first, machine_id=printer.pk)
    return batch, first, second, printer


# --- operation_start -------------------------------------------------------------------------
def test_start_the_first_operation(tenant):
    operator = member_actor(tenant, "operator")
    batch, first, _, printer = _setup(tenant)

    started = operation_start(actor=operator, operation=first, machine_id=printer.pk)

    assert (started.status, started.machine_id) == (O.RUNNING, printer.pk)
    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)
    assert first.machine_id == printer.pk
    assert first.actual_start is not None
    assert batch.started_at is not None
    [event] = audit_events(tenant, verb="operation.started", target=first)
    assert event.before == {"status": "pending"}
    assert event.after == {
        "status": "running",
        "machine": printer.pk,
        "actual_start": str(first.actual_start),
    }
    assert event.actor_label == operator.label
    [machine_event] = audit_events(tenant, verb="machine.status_changed", target=printer)
    assert (machine_event.before, machine_event.after["status"]) == (
        {"status": "available"},
        "running",
    )
    assert len(audit_events(tenant, verb="batch.started", target=batch)) == 1


def test_start_uses_the_planned_machine(tenant, system):
    batch, first, _, printer = _setup(tenant)
    first.machine = printer
    first.save(update_fields=["machine"])

    operation_start(actor=system, operation=first)

    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)


def test_start_the_next_operation_once_the_earlier_one_is_done(tenant, system):
    batch, first, second, printer = _running(tenant, system)
    operation_finish(actor=system, operation=first, quantity_good=10)

    operation_start(actor=system, operation=second, machine_id=printer.pk)

    assert _state(batch, second, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)
    assert len(audit_events(tenant, verb="batch.started")) == 1


def test_a_cancelled_earlier_operation_does_not_block(tenant, system):
    batch, first, second, printer = _setup(tenant)
    first.status = O.CANCELLED
    first.save(update_fields=["status"])

    operation_start(actor=system, operation=second, machine_id=printer.pk)

    assert _state(batch, second, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)


def _refused(tenant, system, batch, operation, machine, error, message, **kwargs):
    before = _state(batch, operation, machine)
    events = audit_count(tenant)
    with pytest.raises(error) as exc_info:
        operation_start(actor=system, operation=operation, **kwargs)
    assert exc_info.type is error
    assert exc_info.value.message == message
    assert _state(batch, operation, machine) == before
    assert audit_count(tenant) == events
    return exc_info.value


@pytest.mark.parametrize("earlier", [O.PENDING, O.RUNNING, O.PAUSED])
def test_start_is_refused_before_earlier_operations_are_done(tenant, system, earlier):
    batch, first, second, printer = _setup(tenant, lot_code="LOT-1")
    first.status = earlier
    first.save(update_fields=["status"])

    _refused(
        tenant,
        system,
        batch,
        second,
        printer,
        Conflict,
        "Finish the earlier operations of batch LOT-1 first.",
        machine_id=printer.pk,
    )


def test_start_needs_a_machine(tenant, system):
    batch, first, _, printer = _setup(tenant)

    error = _refused(
        tenant,
        system,
        batch,
        first,
        printer,
        ApplicationError,
        "Choose a machine for this operation.",
    )
    assert error.extra == {"fields": {"machine": ["Required."]}}


def test_start_on_a_machine_of_another_site_is_refused(tenant, system):
    batch, first, _, _ = _setup(tenant, lot_code="LOT-2")
    elsewhere = machine_for(SiteFactory(tenant=tenant), name="Far printer")

    _refused(
        tenant,
        system,
        batch,
        first,
        elsewhere,
        ApplicationError,
        "Machine Far printer is at another site than batch LOT-2.",
        machine_id=elsewhere.pk,
    )


def test_start_on_an_incapable_machine_is_refused(tenant, system):
    batch, first, _, _ = _setup(tenant)
    laser = machine_for(batch.site, Capability.LASER_CUT, name="Laser")

    _refused(
        tenant,
        system,
        batch,
        first,
        laser,
        ApplicationError,
        "Machine Laser cannot do fdm printing.",
        machine_id=laser.pk,
    )


@pytest.mark.parametrize("status", [M.RUNNING, M.MAINTENANCE, M.DOWN])
def test_start_on_an_unavailable_machine_is_refused(tenant, system, status):
    batch, first, _, _ = _setup(tenant)
    busy = machine_for(batch.site, name="Busy", status=status)

    _refused(
        tenant,
        system,
        batch,
        first,
        busy,
        Conflict,
        f"Machine Busy is {status.label.lower()}.",
        machine_id=busy.pk,
    )


def test_start_on_an_unknown_machine_is_not_found(tenant, system):
    batch, first, _, printer = _setup(tenant)

    _refused(tenant, system, batch, first, printer, NotFound, "Machine not found.", machine_id=-1)


@pytest.mark.parametrize("status", [O.RUNNING, O.PAUSED, O.DONE, O.CANCELLED])
def test_only_pending_operations_start(tenant, system, status):
    batch, first, _, printer = _setup(tenant, status=B.IN_PROGRESS)
    first.status = status
    first.save(update_fields=["status"])

    _refused(
        tenant,
        system,
        batch,
        first,
        printer,
        Conflict,
        f"Operation {first.name} is {status.label.lower()}; only pending operations start.",
        machine_id=printer.pk,
    )


@pytest.mark.parametrize("status", [B.QUALITY_CHECK, B.COMPLETED, B.CANCELLED])
def test_start_in_a_closed_batch_is_refused(tenant, system, status):
    batch, first, _, printer = _setup(tenant, status=status, lot_code="LOT-3")

    _refused(
        tenant,
        system,
        batch,
        first,
        printer,
        Conflict,
        f"Batch LOT-3 is {status.label.lower()}; nothing to start.",
        machine_id=printer.pk,
    )


def test_start_before_the_batch_is_released_is_refused(tenant, system):
    release_at = timezone.now() + timedelta(hours=5)
    batch, first, _, printer = _setup(tenant, release_at=release_at, lot_code="LOT-4")

    _refused(
        tenant,
        system,
        batch,
        first,
        printer,
        Conflict,
        f"Batch LOT-4 is not released before {release_at:%Y-%m-%d %H:%M} UTC.",
        machine_id=printer.pk,
    )


def test_viewer_cannot_start_an_operation(tenant):
    batch, first, _, printer = _setup(tenant)
    viewer = member_actor(tenant, "viewer")
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied) as exc_info:
        operation_start(actor=viewer, operation=first, machine_id=printer.pk)

    assert exc_info.value.message == (
        "Your role (viewer) does not allow this action (operations.run)."
    )
    assert _state(batch, first, printer) == (B.PLANNED, O.PENDING, M.AVAILABLE)
    assert first.machine_id is None
    assert audit_count(tenant) == events


# --- operation_pause / operation_resume ------------------------------------------------------
def test_pause_and_resume(tenant, system):
    operator = member_actor(tenant, "operator")
    batch, first, _, printer = _running(tenant, system)

    operation_pause(actor=operator, operation=first, reason="Filament tangle")

    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.PAUSED, M.AVAILABLE)
    [event] = audit_events(tenant, verb="operation.paused", target=first)
    assert (event.before, event.after, event.message, event.actor_label) == (
        {"status": "running"},
        {"status": "paused"},
        "Filament tangle",
        operator.label,
    )

    operation_resume(actor=operator, operation=first)

    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)
    [event] = audit_events(tenant, verb="operation.resumed", target=first)
    assert (event.before, event.after, event.actor_label) == (
        {"status": "paused"},
        {"status": "running"},
        operator.label,
    )


@pytest.mark.parametrize("status", [O.PENDING, O.PAUSED, O.DONE, O.CANCELLED])
def test_pause_only_a_running_operation(tenant, system, status):
    batch, first, _, printer = _setup(tenant, status=B.IN_PROGRESS)
    first.status, first.machine = status, printer
    first.save(update_fields=["status", "machine"])
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        operation_pause(actor=system, operation=first)

    assert exc_info.value.message == (
        f"Cannot move operation {first} to paused: it is {status.label.lower()}."
    )
    assert _state(batch, first, printer) == (B.IN_PROGRESS, status, M.AVAILABLE)
    assert audit_count(tenant) == events


@pytest.mark.parametrize("status", [O.PENDING, O.RUNNING, O.DONE, O.CANCELLED])
def test_resume_only_a_paused_operation(tenant, system, status):
    batch, first, _, printer = _setup(tenant, status=B.IN_PROGRESS)
    first.status, first.machine = status, printer
    first.save(update_fields=["status", "machine"])
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        operation_resume(actor=system, operation=first)

    assert exc_info.value.message == (
        f"Cannot move operation {first} to running: it is {status.label.lower()}."
    )
    assert _state(batch, first, printer) == (B.IN_PROGRESS, status, M.AVAILABLE)
    assert audit_count(tenant) == events


@pytest.mark.parametrize("status", [O.PENDING, O.CANCELLED])
def test_resume_an_operation_without_a_machine_is_a_conflict(tenant, system, status):
    _, first, _, _ = _setup(tenant, status=B.IN_PROGRESS)
    first.status = status
    first.save(update_fields=["status"])

    with pytest.raises(Conflict):
        operation_resume(actor=system, operation=first)

    first.refresh_from_db()
    assert first.status == status


@pytest.mark.parametrize("status", [M.DOWN, M.MAINTENANCE, M.RUNNING])
def test_resume_needs_the_machine_available(tenant, system, status):
    batch, first, _, printer = _running(tenant, system)
    operation_pause(actor=system, operation=first)
    Machine.objects.for_tenant(tenant).filter(pk=printer.pk).update(status=status)
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        operation_resume(actor=system, operation=first)

    assert exc_info.value.message == f"Machine {printer} is {status.label.lower()}."
    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.PAUSED, status)
    assert audit_count(tenant) == events


# --- operation_finish ------------------------------------------------------------------------
def test_finish_records_quantities_and_frees_the_machine(tenant):
    operator = member_actor(tenant, "operator")
    batch, first, _, printer = _running(tenant, operator)

    operation_finish(actor=operator, operation=first, quantity_good=8, quantity_scrap=2)

    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.DONE, M.AVAILABLE)
    assert (first.quantity_good, first.quantity_scrap) == (8, 2)
    assert first.actual_end is not None
    assert (batch.quantity_good, batch.quantity_scrap) == (0, 2)
    [event] = audit_events(tenant, verb="operation.finished", target=first)
    assert event.before == {"status": "running"}
    assert event.after == {
        "status": "done",
        "actual_end": str(first.actual_end),
        "quantity_good": 8,
        "quantity_scrap": 2,
    }
    assert event.actor_label == operator.label


def test_finishing_the_last_operation_submits_the_batch_for_quality_check(tenant, system):
    batch, first, second, printer = _running(tenant, system)
    operation_finish(actor=system, operation=first, quantity_good=9, quantity_scrap=1)
    operation_start(actor=system, operation=second, machine_id=printer.pk)

    operation_finish(actor=system, operation=second, quantity_good=7, quantity_scrap=2)

    assert _state(batch, second, printer) == (B.QUALITY_CHECK, O.DONE, M.AVAILABLE)
    assert (batch.quantity_good, batch.quantity_scrap) == (7, 3)
    [event] = audit_events(tenant, verb="batch.quality_check", target=batch)
    assert (event.before, event.after) == (
        {"status": "in_progress"},
        {"status": "quality_check", "quantity_good": 7},
    )


@pytest.mark.parametrize(("good", "scrap"), [(10, 0), (0, 10), (4, 6)])
def test_good_plus_scrap_may_equal_the_units_that_arrived(tenant, system, good, scrap):
    _, first, _, _ = _running(tenant, system)

    operation_finish(actor=system, operation=first, quantity_good=good, quantity_scrap=scrap)

    first.refresh_from_db()
    assert (first.status, first.quantity_good, first.quantity_scrap) == (O.DONE, good, scrap)


def _finish_refused(tenant, system, operation, message, **quantities):
    batch = operation.batch
    events = audit_count(tenant)
    with pytest.raises(ApplicationError) as exc_info:
        operation_finish(actor=system, operation=operation, **quantities)
    assert exc_info.value.message == message
    operation.refresh_from_db()
    batch.refresh_from_db()
    assert (operation.status, operation.quantity_good, operation.quantity_scrap) == (
        O.RUNNING,
        None,
        None,
    )
    assert (batch.status, batch.quantity_scrap) == (B.IN_PROGRESS, 0)
    assert audit_count(tenant) == events
    return exc_info.value


def test_good_plus_scrap_cannot_exceed_the_planned_quantity(tenant, system):
    _, first, _, _ = _running(tenant, system)

    error = _finish_refused(
        tenant,
        system,
        first,
        "Only 10 unit(s) reached this operation; good + scrap (11) cannot be more.",
        quantity_good=9,
        quantity_scrap=2,
    )
    assert error.extra == {"fields": {"quantity_good": ["At most 10 with the scrap."]}}


def test_good_plus_scrap_cannot_exceed_the_previous_operations_good_units(tenant, system):
    batch, first, second, printer = _running(tenant, system)
    operation_finish(actor=system, operation=first, quantity_good=6, quantity_scrap=4)
    operation_start(actor=system, operation=second, machine_id=printer.pk)
    Batch.objects.for_tenant(tenant).filter(pk=batch.pk).update(quantity_scrap=0)

    _finish_refused(
        tenant,
        system,
        second,
        "Only 6 unit(s) reached this operation; good + scrap (7) cannot be more.",
        quantity_good=7,
    )


def test_negative_quantities_are_refused(tenant, system):
    _, first, _, _ = _running(tenant, system)

    _finish_refused(
        tenant,
        system,
        first,
        "Quantities cannot be negative.",
        quantity_good=5,
        quantity_scrap=-1,
    )


@pytest.mark.parametrize("status", [O.PENDING, O.PAUSED, O.DONE, O.CANCELLED])
def test_finish_only_a_running_operation(tenant, system, status):
    batch, first, _, printer = _setup(tenant, status=B.IN_PROGRESS)
    first.status, first.machine = status, printer
    first.save(update_fields=["status", "machine"])
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        operation_finish(actor=system, operation=first, quantity_good=1)

    assert exc_info.value.message == (
        f"Operation {first.name} is {status.label.lower()}; only a running operation can finish."
    )
    assert _state(batch, first, printer) == (B.IN_PROGRESS, status, M.AVAILABLE)
    assert audit_count(tenant) == events


def test_viewer_cannot_finish(tenant, system):
    batch, first, _, printer = _running(tenant, system)

    with pytest.raises(PermissionDenied):
        operation_finish(actor=member_actor(tenant, "viewer"), operation=first, quantity_good=1)

    assert _state(batch, first, printer) == (B.IN_PROGRESS, O.RUNNING, M.RUNNING)
