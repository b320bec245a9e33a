"""An order follows its batches: in production when work starts, ready when all is made."""

from mfapp.orders.models import Order
from mfapp.orders.services import order_confirm, order_ship
from mfapp.production.models import Batch
from mfapp.production.services import batch_cancel, batch_complete, batch_start, operation_start
from tests.factories import (
    audit_events,
    machine_for,
    member_actor,
    order_with_lines,
    product_with_routing,
    run_batch,
)

S = Order.Status


def _confirmed_order(tenant, system, quantity=6, max_batch_size=3):
    product = product_with_routing(tenant, max_batch_size=max_batch_size)
    order = order_with_lines(tenant, [(product, quantity)])
    order_confirm(actor=system, order=order)
    batches = list(Batch.objects.for_tenant(tenant).order_by("id"))
    return order, batches, machine_for(order.site)


def test_first_operation_start_moves_the_order_to_in_production(tenant, system):
    order, (first, second), printer = _confirmed_order(tenant, system)
    operator = member_actor(tenant, "operator")

    operation_start(actor=operator, operation=first.operations.get(), machine_id=printer.pk)

    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION
    [event] = audit_events(tenant, verb="order.status_changed", target=order)
    assert (event.before, event.after) == ({"status": "confirmed"}, {"status": "in_production"})
    assert event.actor_label == operator.label

    # a second batch starting leaves the order (and its audit trail) as it is
    other_printer = machine_for(order.site)
    operation_start(actor=operator, operation=second.operations.get(), machine_id=other_printer.pk)
    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION
    assert len(audit_events(tenant, verb="order.status_changed", target=order)) == 1


def test_batch_start_moves_the_order_to_in_production(tenant, system):
    order, (first, _), _ = _confirmed_order(tenant, system)

    batch_start(actor=system, batch=first)

    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION


def test_order_is_ready_when_all_its_batches_are_completed(tenant, system):
    order, (first, second), printer = _confirmed_order(tenant, system)
    run_batch(system, first, printer)
    batch_complete(actor=system, batch=first)
    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION  # one batch still open

    run_batch(system, second, printer)
    batch_complete(actor=system, batch=second)

    order.refresh_from_db()
    assert order.status == S.READY
    events = audit_events(tenant, verb="order.status_changed", target=order)
    assert [(e.before, e.after, e.actor_label) for e in events] == [
        ({"status": "confirmed"}, {"status": "in_production"}, "system"),
        ({"status": "in_production"}, {"status": "ready"}, "system"),
    ]

    order_ship(actor=system, order=order)
    order.refresh_from_db()
    assert order.status == S.SHIPPED


def test_cancelled_batches_do_not_hold_the_order_back(tenant, system):
    order, (first, second), printer = _confirmed_order(tenant, system)
    run_batch(system, first, printer)
    batch_complete(actor=system, batch=first)

    batch_cancel(actor=system, batch=second, reason="Enough made")

    order.refresh_from_db()
    assert order.status == S.READY


def test_completing_the_last_live_batch_after_a_cancel_makes_the_order_ready(tenant, system):
    order, (first, second), printer = _confirmed_order(tenant, system)
    batch_cancel(actor=system, batch=first)
    order.refresh_from_db()
    assert order.status == S.CONFIRMED

    run_batch(system, second, printer)
    batch_complete(actor=system, batch=second)

    order.refresh_from_db()
    assert order.status == S.READY


def test_an_order_whose_batches_are_all_cancelled_is_not_ready(tenant, system):
    order, batches, _ = _confirmed_order(tenant, system)

    for batch in batches:
        batch_cancel(actor=system, batch=batch)

    order.refresh_from_db()
    assert order.status == S.CONFIRMED
    assert audit_events(tenant, verb="order.status_changed") == []
