import pytest

from mfapp.catalog.capabilities import Capability
from mfapp.core.exceptions import Conflict, PermissionDenied
from mfapp.machines.models import Machine
from mfapp.orders.models import Order
from mfapp.orders.services import order_cancel, order_confirm
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import batch_complete, operation_start
from tests.factories import (
    OrderFactory,
    audit_count,
    audit_events,
    machine_for,
    member_actor,
    order_with_lines,
    product_with_routing,
    run_batch,
)

S = Order.Status
B = Batch.Status
O = BatchOperation.Status  # noqa: E741


@pytest.mark.parametrize("status", [S.DRAFT, S.CONFIRMED, S.IN_PRODUCTION, S.READY])
def test_cancel_before_shipping(tenant, status):
    manager = member_actor(tenant)
    order = OrderFactory(tenant=tenant, status=status)

    order_cancel(actor=manager, order=order, reason="Customer withdrew")

    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.cancelled_at is not None
    [event] = audit_events(tenant, verb="order.cancelled", target=order)
    assert event.before == {"status": status}
    assert event.after == {"status": "cancelled", "cancelled_at": str(order.cancelled_at)}
    assert event.message == "Customer withdrew"
    assert event.actor_label == manager.label


@pytest.mark.parametrize(("status", "label"), [(S.SHIPPED, "shipped"), (S.CANCELLED, "cancelled")])
def test_cancel_is_refused_once_shipped_or_cancelled(tenant, system, status, label):
    order = OrderFactory(tenant=tenant, status=status, number="SO-7")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        order_cancel(actor=system, order=order)

    assert exc_info.value.message == f"Cannot move order SO-7 to cancelled: it is {label}."
    assert exc_info.value.extra == {
        "status": status,
        "allowed_from": ["confirmed", "draft", "in_production", "ready"],
    }
    order.refresh_from_db()
    assert order.status == status
    assert order.cancelled_at is None
    assert audit_count(tenant) == events


def test_cancel_stops_open_batches_their_operations_and_frees_the_machine(tenant, system):
    # given: two batches; the first one runs its first operation on a printer
    product = product_with_routing(
        tenant, [(Capability.FDM_PRINT, 10), (Capability.FDM_PRINT, 2)], max_batch_size=4
    )
    order = order_with_lines(tenant, [(product, 8)])
    order_confirm(actor=system, order=order)
    printer = machine_for(order.site)
    first, second = Batch.objects.for_tenant(tenant).order_by("id")
    running = first.operations.get(sequence=10)
    operation_start(actor=system, operation=running, machine_id=printer.pk)
    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION

    # when
    order_cancel(actor=system, order=order, reason="Design changed")

    # then
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert list(
        Batch.objects.for_tenant(tenant).order_by("id").values_list("status", flat=True)
    ) == [
        B.CANCELLED,
        B.CANCELLED,
    ]
    assert set(BatchOperation.objects.for_tenant(tenant).values_list("status", flat=True)) == {
        O.CANCELLED
    }
    printer.refresh_from_db()
    assert printer.status == Machine.Status.AVAILABLE
    batch_events = audit_events(tenant, verb="batch.cancelled")
    assert sorted((e.target_id, e.before, e.message) for e in batch_events) == [
        (first.id, {"status": "in_progress"}, f"Order {order} cancelled. Design changed"),
        (second.id, {"status": "planned"}, f"Order {order} cancelled. Design changed"),
    ]
    assert len(audit_events(tenant, verb="operation.cancelled")) == 4
    machine_event = audit_events(tenant, verb="machine.status_changed", target=printer)[-1]
    assert (machine_event.before, machine_event.after["status"]) == (
        {"status": "running"},
        "available",
    )


def test_cancel_leaves_completed_batches_and_done_operations_alone(tenant, system):
    product = product_with_routing(tenant, max_batch_size=3)
    order = order_with_lines(tenant, [(product, 6)])
    order_confirm(actor=system, order=order)
    printer = machine_for(order.site)
    done, open_ = Batch.objects.for_tenant(tenant).order_by("id")
    run_batch(system, done, printer)  # -> quality check
    batch_complete(actor=system, batch=done)

    order_cancel(actor=system, order=order)

    done.refresh_from_db()
    open_.refresh_from_db()
    assert (done.status, open_.status) == (B.COMPLETED, B.CANCELLED)
    assert list(done.operations.values_list("status", flat=True)) == [O.DONE]
    assert list(open_.operations.values_list("status", flat=True)) == [O.CANCELLED]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_cancel_needs_orders_manage(tenant, role):
    order = OrderFactory(tenant=tenant, status=S.CONFIRMED)
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied):
        order_cancel(actor=member_actor(tenant, role), order=order)

    order.refresh_from_db()
    assert order.status == S.CONFIRMED
    assert audit_count(tenant) == events
