from decimal import Decimal

import pytest

from mfapp.catalog.capabilities import Capability
from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.orders.models import Order
from mfapp.orders.services import order_confirm
from mfapp.production.models import Batch, BatchOperation
from tests.factories import (
    OrderFactory,
    ProductFactory,
    audit_count,
    audit_events,
    member_actor,
    order_with_lines,
    product_with_routing,
)

S = Order.Status


def _batches(tenant):
    return list(Batch.objects.for_tenant(tenant).order_by("id"))


def test_confirm_splits_a_line_into_batches_of_max_batch_size(tenant):
    # given
    manager = member_actor(tenant)
    product = product_with_routing(
        tenant,
        [(Capability.FDM_PRINT, "12"), (Capability.POST_PROCESS, "3.5")],
        max_batch_size=10,
        design_revision="C",
    )
    order = order_with_lines(tenant, [(product, 25)])
    line = order.lines.get()
    steps = list(product.routing_steps.order_by("sequence"))

    # when
    confirmed = order_confirm(actor=manager, order=order)

    # then
    assert confirmed.status == S.CONFIRMED
    order.refresh_from_db()
    assert order.status == S.CONFIRMED
    assert order.confirmed_at is not None
    batches = _batches(tenant)
    assert [b.quantity_planned for b in batches] == [10, 10, 5]
    assert {(b.order_line_id, b.product_id, b.site_id) for b in batches} == {
        (line.id, product.id, order.site_id)
    }
    assert {b.status for b in batches} == {Batch.Status.PLANNED}
    assert {b.design_revision for b in batches} == {"C"}
    assert len({b.lot_code for b in batches}) == 3
    for batch in batches:
        operations = list(batch.operations.order_by("sequence"))
        assert [
            (op.sequence, op.routing_step_id, op.name, op.capability, op.run_minutes_per_unit)
            for op in operations
        ] == [
            (10, steps[0].id, steps[0].name, "fdm-print", Decimal("12.00")),
            (20, steps[1].id, steps[1].name, "post-process", Decimal("3.50")),
        ]
        assert {op.status for op in operations} == {BatchOperation.Status.PENDING}
        assert {op.machine_id for op in operations} == {None}
    [event] = audit_events(tenant, verb="order.confirmed")
    assert (event.target_id, event.before) == (order.id, {"status": "draft"})
    assert event.after["status"] == "confirmed"
    assert event.actor_label == manager.label
    assert event.actor_user == manager.user
    assert [e.target_id for e in audit_events(tenant, verb="batch.created")] == [
        b.id for b in batches
    ]


def test_confirm_without_max_batch_size_plans_one_batch_per_line(tenant, system):
    first = product_with_routing(tenant)
    second = product_with_routing(tenant, max_batch_size=50)
    order = order_with_lines(tenant, [(first, 25), (second, 7)])

    order_confirm(actor=system, order=order)

    assert [(b.product_id, b.quantity_planned) for b in _batches(tenant)] == [
        (first.id, 25),
        (second.id, 7),
    ]
    assert audit_events(tenant, verb="order.confirmed")[0].actor_label == "system"


def test_quantity_equal_to_max_batch_size_is_one_batch(tenant, system):
    product = product_with_routing(tenant, max_batch_size=10)
    order = order_with_lines(tenant, [(product, 10)])

    order_confirm(actor=system, order=order)

    assert [b.quantity_planned for b in _batches(tenant)] == [10]


def test_confirm_without_lines_is_refused(tenant, system):
    order = OrderFactory(tenant=tenant, number="SO-1")
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        order_confirm(actor=system, order=order)

    assert exc_info.type is ApplicationError
    assert exc_info.value.message == (
        "Order SO-1 has no lines; add what the customer ordered first."
    )
    order.refresh_from_db()
    assert order.status == S.DRAFT
    assert order.confirmed_at is None
    assert audit_count(tenant) == events


def test_confirm_twice_is_a_conflict(tenant, system):
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)], number="SO-2")
    order_confirm(actor=system, order=order)
    batches = _batches(tenant)
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        order_confirm(actor=system, order=order)

    assert exc_info.value.message == "Cannot move order SO-2 to confirmed: it is confirmed."
    assert exc_info.value.extra == {"status": "confirmed", "allowed_from": ["draft"]}
    assert _batches(tenant) == batches
    assert audit_count(tenant) == events


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (S.IN_PRODUCTION, "in production"),
        (S.READY, "ready"),
        (S.SHIPPED, "shipped"),
        (S.CANCELLED, "cancelled"),
    ],
)
def test_confirm_is_refused_after_draft(tenant, system, status, label):
    order = order_with_lines(
        tenant, [(product_with_routing(tenant), 3)], number="SO-3", status=status
    )
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        order_confirm(actor=system, order=order)

    assert exc_info.value.message == f"Cannot move order SO-3 to confirmed: it is {label}."
    order.refresh_from_db()
    assert order.status == status
    assert _batches(tenant) == []
    assert audit_count(tenant) == events


def test_product_without_routing_is_refused_and_nothing_is_created(tenant, system):
    routed = product_with_routing(tenant, max_batch_size=2)
    unrouted = ProductFactory(tenant=tenant, sku="NO-ROUTE")
    order = order_with_lines(tenant, [(routed, 5), (unrouted, 1)])  # the first line would plan
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        order_confirm(actor=system, order=order)

    assert exc_info.value.message == (
        "Product NO-ROUTE has no routing steps; add how it is made before planning it."
    )
    order.refresh_from_db()
    assert order.status == S.DRAFT
    assert order.confirmed_at is None
    assert _batches(tenant) == []
    assert BatchOperation.objects.for_tenant(tenant).count() == 0
    assert audit_count(tenant) == events


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_confirm_needs_orders_manage(tenant, role):
    actor = member_actor(tenant, role)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied) as exc_info:
        order_confirm(actor=actor, order=order)

    assert exc_info.value.message == (
        f"Your role ({role}) does not allow this action (orders.manage)."
    )
    order.refresh_from_db()
    assert order.status == S.DRAFT
    assert _batches(tenant) == []
    assert audit_count(tenant) == events
