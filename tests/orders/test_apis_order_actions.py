"""POST /api/v1/orders/{id}/confirm|cancel|ship|lines/: the order services as actions."""

from decimal import Decimal

import pytest
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.orders.models import Order, OrderLine
from mfapp.production.models import Batch
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    MembershipFactory,
    OrderFactory,
    ProductFactory,
    audit_events,
    order_with_lines,
    product_with_routing,
)

S = Order.Status


def url(order, action):
    return f"/api/v1/orders/{order.id}/{action}/"


def iso(value):
    return None if value is None else DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="shop", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def member_client(tenant, role):
    client = APIClient()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


@pytest.fixture
def api(system):
    return key_client(system)


def as_json(order):
    order.refresh_from_db()
    return {
        "id": order.id,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "number": order.number,
        "status": order.status,
        "priority": order.priority,
        "due_date": order.due_date.isoformat(),
        "notes": order.notes,
        "external_ref": order.external_ref,
        "confirmed_at": iso(order.confirmed_at),
        "shipped_at": iso(order.shipped_at),
        "cancelled_at": iso(order.cancelled_at),
        "customer": order.customer_id,
        "site": order.site_id,
        "lines": [
            {
                "id": line.id,
                "created_at": iso(line.created_at),
                "updated_at": iso(line.updated_at),
                "order": line.order_id,
                "product": line.product_id,
                "quantity": line.quantity,
                "unit_price": f"{Decimal(line.unit_price):.2f}",
            }
            for line in order.lines.order_by("id")
        ],
    }


def snapshot(tenant):
    return (
        list(Order.objects.for_tenant(tenant).order_by("id").values()),
        list(OrderLine.objects.for_tenant(tenant).order_by("id").values()),
        list(Batch.objects.for_tenant(tenant).order_by("id").values()),
    )


def draft(tenant, **fields):
    return order_with_lines(
        tenant, [(product_with_routing(tenant, max_batch_size=4), 10)], **fields
    )


def conflict(number, to, now, allowed):
    return {
        "message": f"Cannot move order {number} to {to}: it is {now}.",
        "extra": {"status": now.replace(" ", "_"), "allowed_from": allowed},
    }


# --- confirm ---------------------------------------------------------------------------------
def test_confirm_plans_the_batches(api, tenant):
    order = draft(tenant)
    line = order.lines.get()

    response = api.post(url(order, "confirm"))

    assert response.status_code == 200
    assert response.json() == as_json(order)
    assert (order.status, response.json()["status"]) == (S.CONFIRMED, "confirmed")
    assert order.confirmed_at is not None
    batches = list(Batch.objects.for_tenant(tenant).order_by("id"))
    assert [(b.order_line_id, b.quantity_planned, b.status) for b in batches] == [
        (line.id, 4, Batch.Status.PLANNED),
        (line.id, 4, Batch.Status.PLANNED),
        (line.id, 2, Batch.Status.PLANNED),
    ]
    assert [e.actor_label for e in audit_events(tenant, verb="order.confirmed")] == ["api-key:shop"]


@pytest.mark.parametrize(
    ("status", "now"),
    [(S.CONFIRMED, "confirmed"), (S.SHIPPED, "shipped"), (S.CANCELLED, "cancelled")],
)
def test_confirm_anything_but_a_draft_is_a_conflict(api, tenant, status, now):
    order = draft(tenant, status=status, number="SO-7")
    before = snapshot(tenant)

    response = api.post(url(order, "confirm"))

    assert response.status_code == 409
    assert response.json() == conflict("SO-7", "confirmed", now, ["draft"])
    assert snapshot(tenant) == before


def test_confirm_a_draft_without_lines_is_refused(api, tenant):
    order = OrderFactory(tenant=tenant, number="SO-8")
    before = snapshot(tenant)

    response = api.post(url(order, "confirm"))

    assert response.status_code == 400
    assert response.json() == {
        "message": "Order SO-8 has no lines; add what the customer ordered first.",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_confirm_ignores_a_body(api, tenant):
    order = draft(tenant)

    response = api.post(url(order, "confirm"), {"status": "shipped"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


def test_get_on_an_action_is_not_allowed(api, tenant):
    order = draft(tenant)

    response = api.get(url(order, "confirm"))

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "GET" not allowed.', "extra": {}}
    order.refresh_from_db()
    assert order.status == S.DRAFT


# --- cancel ----------------------------------------------------------------------------------
def test_cancel_a_draft_with_a_reason(api, tenant):
    order = draft(tenant)

    response = api.post(
        url(order, "cancel"), {"reason": "Customer changed their mind"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == as_json(order)
    assert order.status == S.CANCELLED
    assert order.cancelled_at is not None
    [event] = audit_events(tenant, verb="order.cancelled")
    assert event.message == "Customer changed their mind"


def test_cancel_a_confirmed_order_cancels_its_open_batches(api, tenant):
    order = draft(tenant)
    api.post(url(order, "confirm"))

    response = api.post(url(order, "cancel"))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert set(Batch.objects.for_tenant(tenant).values_list("status", flat=True)) == {
        Batch.Status.CANCELLED
    }


@pytest.mark.parametrize(("status", "now"), [(S.SHIPPED, "shipped"), (S.CANCELLED, "cancelled")])
def test_cancel_a_closed_order_is_a_conflict(api, tenant, status, now):
    order = draft(tenant, status=status, number="SO-3")
    before = snapshot(tenant)

    response = api.post(url(order, "cancel"), {"reason": "x"}, format="json")

    assert response.status_code == 409
    assert response.json() == conflict(
        "SO-3", "cancelled", now, ["confirmed", "draft", "in_production", "ready"]
    )
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"reason": ["x"]}, {"reason": ["Not a valid string."]}),
        (
            {"reason": "x" * 1001},
            {"reason": ["Ensure this field has no more than 1000 characters."]},
        ),
        ({"reason": None}, {"reason": ["This field may not be null."]}),
    ],
    ids=["wrong-type", "too-long", "null"],
)
def test_cancel_refuses_a_bad_reason(api, tenant, body, fields):
    order = draft(tenant)
    before = snapshot(tenant)

    response = api.post(url(order, "cancel"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


# --- ship ------------------------------------------------------------------------------------
def test_ship_a_ready_order(api, tenant):
    order = draft(tenant, status=S.READY)

    response = api.post(url(order, "ship"))

    assert response.status_code == 200
    assert response.json() == as_json(order)
    assert order.status == S.SHIPPED
    assert order.shipped_at is not None


@pytest.mark.parametrize(
    ("status", "now"),
    [(S.DRAFT, "draft"), (S.CONFIRMED, "confirmed"), (S.IN_PRODUCTION, "in production")],
)
def test_ship_an_unfinished_order_is_a_conflict(api, tenant, status, now):
    order = draft(tenant, status=status, number="SO-4")
    before = snapshot(tenant)

    response = api.post(url(order, "ship"))

    assert response.status_code == 409
    assert response.json() == conflict("SO-4", "shipped", now, ["ready"])
    assert snapshot(tenant) == before


# --- lines -----------------------------------------------------------------------------------
def test_add_a_line_to_a_draft_answers_the_whole_order(api, tenant):
    order = draft(tenant)
    product = ProductFactory(tenant=tenant, unit_price=Decimal("3.10"))

    response = api.post(
        url(order, "lines"), {"product_id": product.id, "quantity": 7}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == as_json(order)
    assert [
        (line["product"], line["quantity"], line["unit_price"]) for line in response.json()["lines"]
    ][1:] == [(product.id, 7, "3.10")]
    assert len(audit_events(tenant, verb="order.line_added")) == 1


def test_add_a_line_with_its_own_price(api, tenant):
    order = draft(tenant)
    product = ProductFactory(tenant=tenant)

    response = api.post(
        url(order, "lines"),
        {"product_id": product.id, "quantity": 1, "unit_price": "0.00"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["lines"][-1]["unit_price"] == "0.00"


def test_add_a_line_to_a_confirmed_order_is_a_conflict(api, tenant):
    order = draft(tenant, status=S.CONFIRMED, number="SO-2")
    before = snapshot(tenant)

    response = api.post(
        url(order, "lines"),
        {"product_id": ProductFactory(tenant=tenant).id, "quantity": 1},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "message": "Order SO-2 is confirmed; only drafts change.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"product_id": ["This field is required."], "quantity": ["This field is required."]}),
        (
            {"product_id": 1, "quantity": -1},
            {"quantity": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"product_id": 1, "quantity": "lots"}, {"quantity": ["A valid integer is required."]}),
        (
            {"product_id": 1, "quantity": 2**40},
            {"quantity": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        (
            {"product_id": 1, "quantity": 1, "unit_price": "cheap"},
            {"unit_price": ["A valid number is required."]},
        ),
    ],
    ids=["missing", "negative", "wrong-type", "huge", "bad-price"],
)
def test_add_a_line_refuses_bad_input(api, tenant, body, fields):
    order = draft(tenant)
    before = snapshot(tenant)

    response = api.post(url(order, "lines"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
def test_add_a_line_of_an_unknown_or_foreign_product_is_not_found(api, tenant, other_tenant, whose):
    order = draft(tenant)
    foreign = ProductFactory(tenant=other_tenant)
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(
        url(order, "lines"),
        {"product_id": foreign.id if whose == "other-tenant" else 987654321, "quantity": 1},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"message": "Product not found.", "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


# --- who may do what -------------------------------------------------------------------------
ACTIONS = [
    ("confirm", S.DRAFT, None),
    ("cancel", S.DRAFT, {"reason": "x"}),
    ("ship", S.READY, None),
    ("lines", S.DRAFT, "line"),
]


def _body(tenant, body):
    if body == "line":
        return {"product_id": ProductFactory(tenant=tenant).id, "quantity": 1}
    return body


@pytest.mark.parametrize(("action", "status", "body"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_a_read_only_key_cannot_act(system, tenant, action, status, body):
    order = draft(tenant, status=status)
    client = key_client(system, read_only=True)
    body = _body(tenant, body)
    before = snapshot(tenant)

    response = client.post(url(order, action), body, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant) == before


@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.OPERATOR])
@pytest.mark.parametrize(("action", "status", "body"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_viewers_and_operators_cannot_act_on_orders(tenant, role, action, status, body):
    order = draft(tenant, status=status)
    client = member_client(tenant, role)
    body = _body(tenant, body)
    before = snapshot(tenant)

    response = client.post(url(order, action), body, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": f"Your role ({role}) does not allow this action (orders.manage).",
        "extra": {},
    }
    assert snapshot(tenant) == before
    assert client.get(f"/api/v1/orders/{order.id}/").status_code == 200


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.OWNER])
def test_managers_confirm_and_ship_with_their_session(tenant, role):
    client = member_client(tenant, role)
    order = draft(tenant)

    confirmed = client.post(url(order, "confirm"))
    Batch.objects.for_tenant(tenant).update(status=Batch.Status.COMPLETED)
    Order.objects.for_tenant(tenant).filter(pk=order.pk).update(status=S.READY)
    shipped = client.post(url(order, "ship"))

    assert (confirmed.status_code, shipped.status_code) == (200, 200)
    assert (confirmed.json()["status"], shipped.json()["status"]) == ("confirmed", "shipped")
    [event] = audit_events(tenant, verb="order.shipped")
    assert event.actor_user is not None


@pytest.mark.parametrize(("action", "status", "body"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_acting_on_another_tenants_order_is_not_found(
    api, tenant, other_tenant, action, status, body
):
    foreign = draft(other_tenant, status=status)
    body = _body(tenant, body)
    before = snapshot(other_tenant), snapshot(tenant)

    response = api.post(url(foreign, action), body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Order not found.", "extra": {}}
    assert (snapshot(other_tenant), snapshot(tenant)) == before


def test_acting_on_a_missing_order_is_not_found(api, tenant):
    response = api.post("/api/v1/orders/987654321/confirm/")

    assert response.status_code == 404
    assert response.json() == {"message": "Order not found.", "extra": {}}
