from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mfapp.core.exceptions import Conflict, NotFound, PermissionDenied
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import (
    batch_cancel,
    batch_complete,
    batch_create,
    batch_schedule,
    batch_start,
    batch_submit_for_quality_check,
    quality_check_record,
)
from tests.factories import (
    BatchFactory,
    QualityCheckFactory,
    SiteFactory,
    audit_count,
    audit_events,
    batch_with_operations,
    machine_for,
    member_actor,
    product_with_routing,
)

B = Batch.Status
O = BatchOperation.Status  # noqa: E741
LABELS = {
    B.PLANNED: "planned",
    B.SCHEDULED: "scheduled",
    B.IN_PROGRESS: "in progress",
    B.QUALITY_CHECK: "quality check",
    B.COMPLETED: "completed",
    B.CANCELLED: "cancelled",
}


def _assert_unchanged(batch, status, tenant, events):
    batch.refresh_from_db()
    assert batch.status == status
    assert audit_count(tenant) == events


# --- batch_create ----------------------------------------------------------------------------
def test_batch_create_copies_the_routing(tenant, system):
    product = product_with_routing(tenant, [("fdm-print", 12), ("inspection", 1)])
    site = SiteFactory(tenant=tenant)

    batch = batch_create(
        actor=system, product_id=product.pk, site_id=site.pk, quantity=7, lot_code="LOT-A"
    )

    assert (batch.lot_code, batch.status, batch.quantity_planned, batch.order_line_id) == (
        "LOT-A",
        B.PLANNED,
        7,
        None,
    )
    assert list(batch.operations.values_list("sequence", "capability", "status")) == [
        (10, "fdm-print", O.PENDING),
        (20, "inspection", O.PENDING),
    ]
    [event] = audit_events(tenant, verb="batch.created", target=batch)
    assert event.after == {"status": "planned", "product": product.pk, "quantity": 7}


def test_batch_create_numbers_lots_per_tenant(tenant, other_tenant, system):
    product = product_with_routing(tenant)
    site = SiteFactory(tenant=tenant)
    prefix = f"L{timezone.now():%y%m%d}-"
    BatchFactory(tenant=other_tenant, lot_code=f"{prefix}0007")

    first = batch_create(actor=system, product_id=product.pk, site_id=site.pk, quantity=1)
    second = batch_create(actor=system, product_id=product.pk, site_id=site.pk, quantity=1)

    assert (first.lot_code, second.lot_code) == (f"{prefix}0001", f"{prefix}0002")


def test_batch_create_with_an_unknown_site_is_not_found(tenant, system):
    product = product_with_routing(tenant)

    with pytest.raises(NotFound) as exc_info:
        batch_create(actor=system, product_id=product.pk, site_id=-1, quantity=1)

    assert exc_info.value.message == "Site not found."
    assert Batch.objects.for_tenant(tenant).count() == 0


# --- batch_schedule --------------------------------------------------------------------------
def test_schedule_a_planned_batch_whose_operations_have_machines(tenant):
    manager = member_actor(tenant)
    batch = batch_with_operations(tenant)
    machine = machine_for(batch.site)
    batch.operations.update(machine=machine)

    batch_schedule(actor=manager, batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.SCHEDULED
    [event] = audit_events(tenant, verb="batch.scheduled", target=batch)
    assert (event.before, event.after, event.actor_label) == (
        {"status": "planned"},
        {"status": "scheduled"},
        manager.label,
    )


def test_schedule_is_refused_while_operations_lack_a_machine(tenant, system):
    batch = batch_with_operations(tenant, lot_code="LOT-S")
    batch.operations.filter(sequence=10).update(machine=machine_for(batch.site))
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_schedule(actor=system, batch=batch)

    assert exc_info.value.message == "Batch LOT-S has 1 operation(s) without a machine yet."
    _assert_unchanged(batch, B.PLANNED, tenant, events)


@pytest.mark.parametrize(
    "status", [B.SCHEDULED, B.IN_PROGRESS, B.QUALITY_CHECK, B.COMPLETED, B.CANCELLED]
)
def test_schedule_only_from_planned(tenant, system, status):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-S")
    batch.operations.update(machine=machine_for(batch.site))
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_schedule(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Cannot move batch LOT-S to scheduled: it is {LABELS[status]}."
    )
    _assert_unchanged(batch, status, tenant, events)


def test_operator_cannot_schedule(tenant):
    batch = batch_with_operations(tenant)
    batch.operations.update(machine=machine_for(batch.site))

    with pytest.raises(PermissionDenied):
        batch_schedule(actor=member_actor(tenant, "operator"), batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.PLANNED


# --- batch_start -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [B.PLANNED, B.SCHEDULED])
def test_start_a_planned_or_scheduled_batch(tenant, status):
    operator = member_actor(tenant, "operator")
    batch = batch_with_operations(tenant, status=status)

    batch_start(actor=operator, batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.IN_PROGRESS
    assert batch.started_at is not None
    [event] = audit_events(tenant, verb="batch.started", target=batch)
    assert event.before == {"status": status}
    assert event.after == {"status": "in_progress", "started_at": str(batch.started_at)}
    assert event.actor_label == operator.label


def test_start_before_release_is_refused(tenant, system):
    release_at = timezone.now() + timedelta(days=2)
    batch = batch_with_operations(tenant, lot_code="LOT-R", release_at=release_at)
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_start(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Batch LOT-R is not released before {release_at:%Y-%m-%d %H:%M} UTC."
    )
    _assert_unchanged(batch, B.PLANNED, tenant, events)


def test_start_after_release_is_allowed(tenant, system):
    batch = batch_with_operations(tenant, release_at=timezone.now() - timedelta(minutes=1))

    batch_start(actor=system, batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.IN_PROGRESS


@pytest.mark.parametrize("status", [B.IN_PROGRESS, B.QUALITY_CHECK, B.COMPLETED, B.CANCELLED])
def test_start_is_refused_from(tenant, system, status):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-X")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_start(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Cannot move batch LOT-X to in progress: it is {LABELS[status]}."
    )
    _assert_unchanged(batch, status, tenant, events)


def test_viewer_cannot_start_a_batch(tenant):
    batch = batch_with_operations(tenant)
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied):
        batch_start(actor=member_actor(tenant, "viewer"), batch=batch)

    _assert_unchanged(batch, B.PLANNED, tenant, events)


# --- batch_submit_for_quality_check ------------------------------------------------------------
def test_submit_a_batch_whose_operations_are_done(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS, quantity_planned=10)
    batch.operations.filter(sequence=10).update(status=O.DONE, quantity_good=9, quantity_scrap=1)
    batch.operations.filter(sequence=20).update(status=O.DONE, quantity_good=8, quantity_scrap=1)

    batch_submit_for_quality_check(actor=system, batch=batch)

    batch.refresh_from_db()
    assert (batch.status, batch.quantity_good) == (B.QUALITY_CHECK, 8)
    [event] = audit_events(tenant, verb="batch.quality_check", target=batch)
    assert (event.before, event.after, event.actor_label) == (
        {"status": "in_progress"},
        {"status": "quality_check", "quantity_good": 8},
        "system",
    )


def test_submit_counts_cancelled_operations_as_finished(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    batch.operations.filter(sequence=10).update(status=O.DONE, quantity_good=6, quantity_scrap=0)
    batch.operations.filter(sequence=20).update(status=O.CANCELLED)

    batch_submit_for_quality_check(actor=system, batch=batch)

    batch.refresh_from_db()
    assert (batch.status, batch.quantity_good) == (B.QUALITY_CHECK, 6)


def test_submit_with_unfinished_operations_is_refused(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS, lot_code="LOT-U")
    batch.operations.filter(sequence=10).update(status=O.DONE, quantity_good=10)
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_submit_for_quality_check(actor=system, batch=batch)

    assert exc_info.value.message == "Batch LOT-U still has 1 unfinished operation(s)."
    _assert_unchanged(batch, B.IN_PROGRESS, tenant, events)
    assert batch.quantity_good == 0


@pytest.mark.parametrize(
    "status", [B.PLANNED, B.SCHEDULED, B.QUALITY_CHECK, B.COMPLETED, B.CANCELLED]
)
def test_submit_only_from_in_progress(tenant, system, status):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-Q")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_submit_for_quality_check(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Cannot move batch LOT-Q to quality check: it is {LABELS[status]}."
    )
    _assert_unchanged(batch, status, tenant, events)


# --- batch_complete --------------------------------------------------------------------------
def test_complete_a_batch_without_failed_checks(tenant):
    operator = member_actor(tenant, "operator")
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)
    QualityCheckFactory(tenant=tenant, batch=batch, measured=Decimal("5.0"))

    batch_complete(actor=operator, batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.COMPLETED
    assert batch.completed_at is not None
    [event] = audit_events(tenant, verb="batch.completed", target=batch)
    assert event.before == {"status": "quality_check"}
    assert event.after == {"status": "completed", "completed_at": str(batch.completed_at)}
    assert event.actor_label == operator.label


def test_complete_is_refused_while_the_latest_check_failed(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS, lot_code="LOT-F")
    for measured in ("5.00", "5.50"):  # passed, then failed
        quality_check_record(
            actor=system,
            batch=batch,
            characteristic="hole diameter",
            target=Decimal("5"),
            tolerance=Decimal("0.1"),
            measured=Decimal(measured),
        )
    quality_check_record(
        actor=system,
        batch=batch,
        characteristic="wall thickness",
        target=Decimal("2"),
        tolerance=Decimal("0.2"),
        measured=Decimal("1.5"),
    )
    batch.status = B.QUALITY_CHECK
    batch.save(update_fields=["status"])
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_complete(actor=system, batch=batch)

    assert exc_info.value.message == (
        "Batch LOT-F failed its check of hole diameter, wall thickness; record a passing "
        "re-check (after rework) or cancel the batch."
    )
    assert exc_info.value.extra == {"failing": ["hole diameter", "wall thickness"]}
    _assert_unchanged(batch, B.QUALITY_CHECK, tenant, events)
    assert batch.completed_at is None


def test_complete_is_allowed_after_a_passing_recheck(tenant, system):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)
    check = {"characteristic": "flatness", "target": Decimal("0"), "tolerance": Decimal("0.05")}
    quality_check_record(actor=system, batch=batch, measured=Decimal("0.2"), **check)
    with pytest.raises(Conflict):
        batch_complete(actor=system, batch=batch)

    quality_check_record(actor=system, batch=batch, measured=Decimal("0.01"), **check)
    batch_complete(actor=system, batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.COMPLETED


@pytest.mark.parametrize(
    "status", [B.PLANNED, B.SCHEDULED, B.IN_PROGRESS, B.COMPLETED, B.CANCELLED]
)
def test_complete_only_from_quality_check(tenant, system, status):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-C")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_complete(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Cannot move batch LOT-C to completed: it is {LABELS[status]}."
    )
    _assert_unchanged(batch, status, tenant, events)


def test_viewer_cannot_complete(tenant):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)

    with pytest.raises(PermissionDenied):
        batch_complete(actor=member_actor(tenant, "viewer"), batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.QUALITY_CHECK


# --- batch_cancel ----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [B.PLANNED, B.SCHEDULED, B.IN_PROGRESS, B.QUALITY_CHECK])
def test_cancel_an_open_batch(tenant, status):
    manager = member_actor(tenant)
    batch = batch_with_operations(tenant, ["fdm-print", "fdm-print", "inspection"], status=status)
    batch.operations.filter(sequence=10).update(status=O.DONE, quantity_good=10)
    batch.operations.filter(sequence=20).update(status=O.PAUSED)

    batch_cancel(actor=manager, batch=batch, reason="Wrong colour")

    batch.refresh_from_db()
    assert batch.status == B.CANCELLED
    assert list(batch.operations.order_by("sequence").values_list("status", flat=True)) == [
        O.DONE,
        O.CANCELLED,
        O.CANCELLED,
    ]
    [event] = audit_events(tenant, verb="batch.cancelled", target=batch)
    assert (event.before, event.after, event.message, event.actor_label) == (
        {"status": status},
        {"status": "cancelled"},
        "Wrong colour",
        manager.label,
    )
    assert [(e.before, e.message) for e in audit_events(tenant, verb="operation.cancelled")] == [
        ({"status": "paused"}, "Wrong colour"),
        ({"status": "pending"}, "Wrong colour"),
    ]


@pytest.mark.parametrize("status", [B.COMPLETED, B.CANCELLED])
def test_cancel_a_closed_batch_is_refused(tenant, system, status):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-Z")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        batch_cancel(actor=system, batch=batch)

    assert exc_info.value.message == (
        f"Cannot move batch LOT-Z to cancelled: it is {LABELS[status]}."
    )
    assert exc_info.value.extra == {
        "status": status,
        "allowed_from": ["in_progress", "planned", "quality_check", "scheduled"],
    }
    _assert_unchanged(batch, status, tenant, events)


def test_operator_cannot_cancel_a_batch(tenant):
    batch = batch_with_operations(tenant)

    with pytest.raises(PermissionDenied):
        batch_cancel(actor=member_actor(tenant, "operator"), batch=batch)

    batch.refresh_from_db()
    assert batch.status == B.PLANNED
