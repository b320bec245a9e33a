import pytest

from mfapp.core.exceptions import Conflict, PermissionDenied
from mfapp.orders.models import Order
from mfapp.orders.services import order_ship
from tests.factories import OrderFactory, audit_count, audit_events, member_actor

S = Order.Status


def test_ship_a_ready_order(tenant):
    manager = member_actor(tenant)
    order = OrderFactory(tenant=tenant, status=S.READY)

    shipped = order_ship(actor=manager, order=order)

    assert shipped.status == S.SHIPPED
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    assert order.shipped_at is not None
    [event] = audit_events(tenant, verb="order.shipped", target=order)
    assert event.before == {"status": "ready"}
    assert event.after == {"status": "shipped", "shipped_at": str(order.shipped_at)}
    assert event.actor_label == manager.label


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (S.DRAFT, "draft"),
        (S.CONFIRMED, "confirmed"),
        (S.IN_PRODUCTION, "in production"),
        (S.SHIPPED, "shipped"),
        (S.CANCELLED, "cancelled"),
    ],
)
def test_ship_only_from_ready(tenant, system, status, label):
    order = OrderFactory(tenant=tenant, status=status, number="SO-9")
    events = audit_count(tenant)

    with pytest.raises(Conflict) as exc_info:
        order_ship(actor=system, order=order)

    assert exc_info.value.message == f"Cannot move order SO-9 to shipped: it is {label}."
    assert exc_info.value.extra == {"status": status, "allowed_from": ["ready"]}
    order.refresh_from_db()
    assert order.status == status
    assert order.shipped_at is None
    assert audit_count(tenant) == events


def test_viewer_cannot_ship(tenant):
    order = OrderFactory(tenant=tenant, status=S.READY)

    with pytest.raises(PermissionDenied):
        order_ship(actor=member_actor(tenant, "viewer"), order=order)

    order.refresh_from_db()
    assert order.status == S.READY
