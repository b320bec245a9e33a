from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mfapp.core.exceptions import ApplicationError, Conflict, PermissionDenied
from mfapp.orders.models import Order, OrderLine
from mfapp.orders.services import MAX_LINES_PER_ORDER, order_create, order_line_add
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    ProductFactory,
    SiteFactory,
    audit_count,
    audit_events,
    member_actor,
)

DUE = timezone.localdate() + timedelta(days=7)


def _create(actor, tenant, **kwargs):
    return order_create(
        actor=actor,
        customer_id=CustomerFactory(tenant=tenant).pk,
        site_id=SiteFactory(tenant=tenant).pk,
        due_date=DUE,
        **kwargs,
    )


def test_create_a_draft_order_with_lines(tenant):
    manager = member_actor(tenant)
    bracket = ProductFactory(tenant=tenant, unit_price=Decimal("4.20"))
    hinge = ProductFactory(tenant=tenant)

    order = _create(
        manager,
        tenant,
        lines=[
            {"product_id": bracket.pk, "quantity": 3},
            {"product_id": hinge.pk, "quantity": 1, "unit_price": Decimal("9.99")},
        ],
        external_ref="shop-1001",
    )

    order.refresh_from_db()
    assert (order.status, order.external_ref, order.due_date) == (
        Order.Status.DRAFT,
        "shop-1001",
        DUE,
    )
    assert list(order.lines.order_by("id").values_list("product_id", "quantity", "unit_price")) == [
        (bracket.id, 3, Decimal("4.20")),
        (hinge.id, 1, Decimal("9.99")),
    ]
    [event] = audit_events(tenant, verb="order.created", target=order)
    assert event.after == {"number": order.number, "status": "draft", "lines": 2}
    assert event.actor_label == manager.label


def test_order_numbers_count_up_per_tenant(tenant, other_tenant):
    year = timezone.now().year
    OrderFactory(tenant=other_tenant, number=f"SO-{year}-00041")
    actor = member_actor(tenant)

    first = _create(actor, tenant)
    second = _create(actor, tenant)

    assert (first.number, second.number) == (f"SO-{year}-00001", f"SO-{year}-00002")


def test_a_discontinued_product_cannot_be_ordered(tenant, system):
    product = ProductFactory(tenant=tenant, sku="OLD-1", is_active=False)
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        _create(system, tenant, lines=[{"product_id": product.pk, "quantity": 1}])

    assert exc_info.value.message == "Product OLD-1 is discontinued; it cannot be ordered."
    assert Order.objects.for_tenant(tenant).count() == 0
    assert audit_count(tenant) == events


def test_a_line_quantity_must_be_positive(tenant, system):
    product = ProductFactory(tenant=tenant)

    with pytest.raises(ApplicationError) as exc_info:
        _create(system, tenant, lines=[{"product_id": product.pk, "quantity": 0}])

    assert list(exc_info.value.extra["fields"]) == ["quantity"]
    assert Order.objects.for_tenant(tenant).count() == 0
    assert OrderLine.objects.for_tenant(tenant).count() == 0


def test_lines_are_added_to_drafts_only(tenant, system):
    product = ProductFactory(tenant=tenant)
    draft = OrderFactory(tenant=tenant)
    confirmed = OrderFactory(tenant=tenant, status=Order.Status.CONFIRMED, number="SO-C")

    line = order_line_add(actor=system, order=draft, product_id=product.pk, quantity=2)
    with pytest.raises(Conflict) as exc_info:
        order_line_add(actor=system, order=confirmed, product_id=product.pk, quantity=2)

    assert line.order == draft
    assert exc_info.value.message == "Order SO-C is confirmed; only drafts change."
    assert confirmed.lines.count() == 0
    [event] = audit_events(tenant, verb="order.line_added")
    assert (event.target_id, event.after) == (draft.id, {"product": product.pk, "quantity": 2})


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_create_needs_orders_manage(tenant, role):
    with pytest.raises(PermissionDenied):
        _create(member_actor(tenant, role), tenant)

    assert Order.objects.for_tenant(tenant).count() == 0


def test_an_order_has_at_most_100_lines(tenant, system):
    # given: lines are part of every answer about an order, so their number is bounded
    product = ProductFactory(tenant=tenant)
    lines = [{"product_id": product.pk, "quantity": 1}] * (MAX_LINES_PER_ORDER + 1)

    # when
    with pytest.raises(ApplicationError) as exc_info:
        _create(system, tenant, lines=lines)

    # then
    assert exc_info.value.message == (
        "An order has at most 100 lines, not 101; split it into several orders."
    )
    assert Order.objects.for_tenant(tenant).count() == 0


def test_a_line_is_not_added_to_an_order_of_100_lines(tenant, system):
    # given: an order with the most lines an order can have (written directly: quick)
    product = ProductFactory(tenant=tenant)
    order = OrderFactory(tenant=tenant, number="SO-FULL")
    OrderLine.objects.bulk_create(
        OrderLine(tenant=tenant, order=order, product=product, quantity=1, unit_price=1)
        for _ in range(MAX_LINES_PER_ORDER)
    )

    # when
    with pytest.raises(ApplicationError) as exc_info:
        order_line_add(actor=system, order=order, product_id=product.pk, quantity=2)

    # then
    assert exc_info.value.message == (
        "Order SO-FULL has 100 lines, the most an order can have; put further products on "
        "another order."
    )
    assert order.lines.count() == MAX_LINES_PER_ORDER
