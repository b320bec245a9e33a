"""/api/v1/orders/: list, retrieve, create (with lines), update and delete."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.orders.models import Order, OrderLine
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SiteFactory,
    audit_events,
    order_with_lines,
)

LIST = "/api/v1/orders/"
S = Order.Status
DUE = timezone.localdate() + timedelta(days=10)


def detail(pk):
    return f"/api/v1/orders/{pk}/"


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


def line_json(line):
    return {
        "id": line.id,
        "created_at": iso(line.created_at),
        "updated_at": iso(line.updated_at),
        "order": line.order_id,
        "product": line.product_id,
        "quantity": line.quantity,
        "unit_price": f"{Decimal(line.unit_price):.2f}",
    }


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
        "lines": [line_json(line) for line in order.lines.order_by("id")],
    }


def snapshot(tenant):
    return (
        list(Order.objects.for_tenant(tenant).order_by("id").values()),
        list(OrderLine.objects.for_tenant(tenant).order_by("id").values()),
    )


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- create ----------------------------------------------------------------------------------
def test_create_an_order_with_lines(api, tenant):
    customer, site = CustomerFactory(tenant=tenant), SiteFactory(tenant=tenant)
    bracket = ProductFactory(tenant=tenant, unit_price=Decimal("4.20"))
    hinge = ProductFactory(tenant=tenant)

    response = api.post(
        LIST,
        {
            "customer_id": customer.id,
            "site_id": site.id,
            "due_date": DUE.isoformat(),
            "priority": 3,
            "notes": "Gift wrap",
            "external_ref": "shop-1001",
            "lines": [
                {"product_id": bracket.id, "quantity": 3},
                {"product_id": hinge.id, "quantity": 1, "unit_price": "9.99"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201
    order = Order.objects.for_tenant(tenant).get()
    assert response.json() == as_json(order)
    assert (order.number, order.status, order.priority, order.customer_id, order.site_id) == (
        f"SO-{timezone.now():%Y}-00001",
        S.DRAFT,
        3,
        customer.id,
        site.id,
    )
    assert [
        (line["product"], line["quantity"], line["unit_price"]) for line in response.json()["lines"]
    ] == [(bracket.id, 3, "4.20"), (hinge.id, 1, "9.99")]
    [event] = audit_events(tenant, verb="order.created")
    assert (event.target_id, event.actor_label) == (order.id, "api-key:shop")


def test_create_an_order_with_its_own_number_and_no_lines(api, tenant):
    response = api.post(
        LIST,
        {
            "customer_id": CustomerFactory(tenant=tenant).id,
            "site_id": SiteFactory(tenant=tenant).id,
            "due_date": DUE.isoformat(),
            "number": "WEB-7",
        },
        format="json",
    )

    assert response.status_code == 201
    order = Order.objects.for_tenant(tenant).get()
    assert response.json() == as_json(order)
    assert (order.number, order.priority, order.notes, response.json()["lines"]) == (
        "WEB-7",
        Order.Priority.NORMAL,
        "",
        [],
    )


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (
            {"customer_id": None, "due_date": None},
            {
                "customer_id": ["This field may not be null."],
                "due_date": ["This field may not be null."],
            },
        ),
        ({"customer_id": "abc"}, {"customer_id": ["A valid integer is required."]}),
        ({"site_id": -1}, {"site_id": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"site_id": 10**30},
            {"site_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        (
            {"due_date": "next week"},
            {"due_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({"priority": 9}, {"priority": ['"9" is not a valid choice.']}),
        (
            {"lines": [{"product_id": "P", "quantity": 0}]},
            {
                "lines": {
                    "0": {
                        "product_id": ["A valid integer is required."],
                        "quantity": ["Ensure this value is greater than or equal to 1."],
                    }
                }
            },
        ),
        (
            {"lines": [{"quantity": -3}]},
            {
                "lines": {
                    "0": {
                        "product_id": ["This field is required."],
                        "quantity": ["Ensure this value is greater than or equal to 1."],
                    }
                }
            },
        ),
        (
            {"lines": [{"product_id": 1, "quantity": 10**20, "unit_price": "1e20"}]},
            {
                "lines": {
                    "0": {
                        "quantity": ["Ensure this value is less than or equal to 2147483647."],
                        "unit_price": ["Ensure that there are no more than 12 digits in total."],
                    }
                }
            },
        ),
        (
            {"lines": [{"product_id": 1, "quantity": 1, "unit_price": "-1"}]},
            {"lines": {"0": {"unit_price": ["Ensure this value is greater than or equal to 0."]}}},
        ),
        (
            {"lines": {"product_id": 1}},
            {"lines": {"non_field_errors": ['Expected a list of items but got type "dict".']}},
        ),
        ({"number": "N" * 41}, {"number": ["Ensure this field has no more than 40 characters."]}),
        (
            {"lines": [{"product_id": 1, "quantity": 1}] * 101},
            {"lines": {"non_field_errors": ["Ensure this field has no more than 100 elements."]}},
        ),
    ],
    ids=[
        "null",
        "wrong-type",
        "negative-id",
        "huge-id",
        "bad-date",
        "bad-priority",
        "line-types",
        "line-missing-product",
        "line-huge",
        "negative-price",
        "lines-not-a-list",
        "long-number",
        "too-many-lines",
    ],
)
def test_create_refuses_bad_input(api, tenant, change, fields):
    body = {
        "customer_id": CustomerFactory(tenant=tenant).id,
        "site_id": SiteFactory(tenant=tenant).id,
        "due_date": DUE.isoformat(),
        **change,
    }

    response = api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == ([], [])


def test_create_refuses_missing_fields(api, tenant):
    response = api.post(LIST, {}, format="json")

    assert response.status_code == 400
    required = ["This field is required."]
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"due_date": required, "customer_id": required, "site_id": required}},
    }


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("customer_id", "Customer not found."),
        ("site_id", "Site not found."),
        ("product_id", "Product not found."),
    ],
)
def test_create_with_an_unknown_or_foreign_id_is_not_found(
    api, tenant, other_tenant, whose, field, message
):
    theirs = {
        "customer_id": CustomerFactory(tenant=other_tenant).id,
        "site_id": SiteFactory(tenant=other_tenant).id,
        "product_id": ProductFactory(tenant=other_tenant).id,
    }
    mine = {
        "customer_id": CustomerFactory(tenant=tenant).id,
        "site_id": SiteFactory(tenant=tenant).id,
        "product_id": ProductFactory(tenant=tenant).id,
    }
    mine[field] = theirs[field] if whose == "other-tenant" else 987654321
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(
        LIST,
        {
            "customer_id": mine["customer_id"],
            "site_id": mine["site_id"],
            "due_date": DUE.isoformat(),
            "lines": [{"product_id": mine["product_id"], "quantity": 1}],
        },
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"message": message, "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before
    assert audit_events(tenant, verb="order.created") == []


def test_create_refuses_a_discontinued_product_and_keeps_nothing(api, tenant):
    product = ProductFactory(tenant=tenant, sku="OLD-1", is_active=False)

    response = api.post(
        LIST,
        {
            "customer_id": CustomerFactory(tenant=tenant).id,
            "site_id": SiteFactory(tenant=tenant).id,
            "due_date": DUE.isoformat(),
            "lines": [{"product_id": product.id, "quantity": 1}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Product OLD-1 is discontinued; it cannot be ordered.",
        "extra": {},
    }
    assert snapshot(tenant) == ([], [])


def test_create_refuses_a_duplicate_number(api, tenant):
    OrderFactory(tenant=tenant, number="SO-1")
    before = snapshot(tenant)

    response = api.post(
        LIST,
        {
            "customer_id": CustomerFactory(tenant=tenant).id,
            "site_id": SiteFactory(tenant=tenant).id,
            "due_date": DUE.isoformat(),
            "number": "SO-1",
        },
        format="json",
    )

    assert response.status_code == 400
    message = "An order with this number exists already."
    assert response.json() == {
        "message": f"number: {message}",
        "extra": {"fields": {"number": [message]}},
    }
    assert snapshot(tenant) == before


# --- list and retrieve -----------------------------------------------------------------------
def test_list_orders_newest_first_with_their_lines(api, tenant, other_tenant):
    older = order_with_lines(tenant, [(ProductFactory(tenant=tenant), 2)])
    newer = order_with_lines(tenant, [(ProductFactory(tenant=tenant), 1)] * 2)
    OrderFactory(tenant=other_tenant)

    response = api.get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [as_json(newer), as_json(older)],
    }
    assert [len(row["lines"]) for row in response.json()["results"]] == [2, 1]


def test_list_filters(api, tenant):
    site, other_site = SiteFactory(tenant=tenant), SiteFactory(tenant=tenant)
    customer = CustomerFactory(tenant=tenant)
    today = timezone.localdate()
    early = OrderFactory(tenant=tenant, site=site, due_date=today + timedelta(days=1))
    mid = OrderFactory(
        tenant=tenant,
        site=site,
        customer=customer,
        status=S.CONFIRMED,
        due_date=today + timedelta(days=5),
    )
    late = OrderFactory(tenant=tenant, site=other_site, due_date=today + timedelta(days=9))
    later = timezone.now() + timedelta(hours=1)
    Order.objects.for_tenant(tenant).filter(pk=late.pk).update(created_at=later, updated_at=later)
    since = (timezone.now() + timedelta(minutes=30)).isoformat()

    def get(**params):
        return ids(api.get(LIST, params))

    assert get(status="confirmed") == [mid.id]
    assert get(status="draft") == [late.id, early.id]
    assert get(site=site.id) == [mid.id, early.id]
    assert get(site=other_site.id) == [late.id]
    assert get(customer=customer.id) == [mid.id]
    assert get(due_before=(today + timedelta(days=5)).isoformat()) == [early.id]
    assert get(due_after=(today + timedelta(days=1)).isoformat()) == [late.id, mid.id]
    assert get(due_after=today.isoformat(), due_before=(today + timedelta(days=9)).isoformat()) == [
        mid.id,
        early.id,
    ]
    assert get(created_since=since) == [late.id]
    assert get(updated_since=since) == [late.id]
    assert get(ordering="due_date") == [early.id, mid.id, late.id]
    assert get(ordering="-priority,due_date") == [early.id, mid.id, late.id]
    assert get(site=987654321) == []


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        (
            {"status": "lost"},
            {"status": ["Select a valid choice. lost is not one of the available choices."]},
        ),
        ({"site": "two"}, {"site": ["Enter a whole number."]}),
        ({"site": "1.5"}, {"site": ["Enter a whole number."]}),
        (
            {"customer": str(10**30)},
            {"customer": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        ({"due_before": "2025-13-01"}, {"due_before": ["Enter a valid date."]}),
        ({"created_since": "soon"}, {"created_since": ["Enter a valid date/time."]}),
    ],
    ids=["status", "site-text", "site-decimal", "customer-huge", "date", "datetime"],
)
def test_list_refuses_bad_filters(api, tenant, params, fields):
    response = api.get(LIST, params)

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}


def test_list_runs_the_same_queries_for_3_and_30_orders(api, tenant, django_assert_num_queries):
    # the api key, the count, the page and the lines with their products (one query)
    api.get(LIST)  # writes the key's last use, once
    site = SiteFactory(tenant=tenant)
    product = ProductFactory(tenant=tenant)
    for _ in range(3):
        order_with_lines(tenant, [(product, 1), (ProductFactory(tenant=tenant), 2)], site=site)
    with django_assert_num_queries(4):
        assert len(api.get(LIST).json()["results"]) == 3

    for _ in range(27):
        order_with_lines(tenant, [(product, 1), (ProductFactory(tenant=tenant), 2)], site=site)
    with django_assert_num_queries(4):
        response = api.get(LIST, {"page_size": 100})
    assert len(response.json()["results"]) == 30
    assert {len(row["lines"]) for row in response.json()["results"]} == {2}


def test_retrieve_an_order_with_its_lines_in_fixed_queries(api, tenant, django_assert_num_queries):
    api.get(LIST)
    order = order_with_lines(tenant, [(ProductFactory(tenant=tenant), n) for n in (1, 2, 3, 4)])

    # the api key, the order and its lines
    with django_assert_num_queries(3):
        response = api.get(detail(order.id))

    assert response.status_code == 200
    assert response.json() == as_json(order)
    assert [line["quantity"] for line in response.json()["lines"]] == [1, 2, 3, 4]


def test_retrieve_a_missing_order(api, tenant):
    response = api.get(detail(987654321))

    assert response.status_code == 404
    assert response.json() == {"message": "Order not found.", "extra": {}}


# --- update ----------------------------------------------------------------------------------
def test_update_a_draft(api, tenant):
    order = OrderFactory(tenant=tenant, number="SO-OLD")
    OrderLineFactory(tenant=tenant, order=order)
    new_due = DUE + timedelta(days=3)

    response = api.patch(
        detail(order.id),
        {"due_date": new_due.isoformat(), "priority": 4, "notes": "Rush", "number": "SO-NEW"},
        format="json",
    )

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.due_date, order.priority, order.notes, order.number) == (
        new_due,
        4,
        "Rush",
        "SO-NEW",
    )
    assert response.json() == as_json(order)
    [event] = audit_events(tenant, verb="order.updated")
    assert event.after == {
        "due_date": new_due.isoformat(),
        "priority": 4,
        "notes": "Rush",
        "number": "SO-NEW",
    }


def test_update_a_confirmed_order_changes_only_the_plan_fields(api, tenant):
    order = OrderFactory(tenant=tenant, status=S.CONFIRMED, number="SO-1")
    before = snapshot(tenant)

    refused = api.patch(detail(order.id), {"number": "SO-2"}, format="json")
    after_refusal = snapshot(tenant)
    accepted = api.patch(detail(order.id), {"priority": 1}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "message": "Unknown field(s): number.",
        "extra": {"fields": {"number": ["Unknown or read-only field."]}},
    }
    assert accepted.status_code == 200
    order.refresh_from_db()
    assert (order.number, order.priority) == ("SO-1", 1)
    assert after_refusal == before


@pytest.mark.parametrize("status", [S.SHIPPED, S.CANCELLED])
def test_update_a_closed_order_is_a_conflict(api, tenant, status):
    order = OrderFactory(tenant=tenant, status=status, number="SO-9")
    before = snapshot(tenant)

    response = api.patch(detail(order.id), {"notes": "late"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Order SO-9 is {order.get_status_display().lower()}; it cannot change.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"customer_id": 1, "notes": "x"},
            {"customer_id": ["An order keeps its customer; cancel it and create another."]},
        ),
        (
            {"site_id": 1, "status": "shipped"},
            {
                "site_id": ["An order keeps its site; cancel it and create another."],
                "status": ["Change the status with the confirm, cancel and ship actions."],
            },
        ),
        (
            {"lines": []},
            {
                "lines": [
                    "Add lines with POST /api/v1/orders/{id}/lines/ while the order is a draft."
                ]
            },
        ),
    ],
    ids=["customer", "site-and-status", "lines"],
)
def test_update_refuses_what_only_other_ways_change(api, tenant, body, fields):
    order = OrderFactory(tenant=tenant)
    before = snapshot(tenant)

    response = api.patch(detail(order.id), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


def test_update_refuses_fields_it_cannot_write(api, tenant):
    # A field silently dropped would hide a bug in the integration that sent it.
    order = OrderFactory(tenant=tenant)
    before = snapshot(tenant)

    response = api.patch(detail(order.id), {"id": 1, "confirmed_at": None}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"confirmed_at": ["Unknown field."], "id": ["Unknown field."]}},
    }
    assert snapshot(tenant) == before


def test_update_with_a_json_list_is_refused(api, tenant):
    order = OrderFactory(tenant=tenant)

    response = api.patch(detail(order.id), [{"notes": "x"}], format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
        },
    }


def test_update_refuses_bad_input(api, tenant):
    order = OrderFactory(tenant=tenant)
    before = snapshot(tenant)

    response = api.patch(detail(order.id), {"due_date": 5, "priority": "high"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "due_date": [
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
                ],
                "priority": ['"high" is not a valid choice.'],
            }
        },
    }
    assert snapshot(tenant) == before


# --- delete ----------------------------------------------------------------------------------
def test_delete_a_draft_with_its_lines(api, tenant):
    order = order_with_lines(tenant, [(ProductFactory(tenant=tenant), 2)])

    response = api.delete(detail(order.id))

    assert response.status_code == 204
    assert response.content == b""
    assert snapshot(tenant) == ([], [])
    assert [e.target_id for e in audit_events(tenant, verb="order.deleted")] == [order.id]


@pytest.mark.parametrize("status", [S.CONFIRMED, S.SHIPPED, S.CANCELLED])
def test_delete_anything_but_a_draft_is_a_conflict(api, tenant, status):
    order = order_with_lines(
        tenant, [(ProductFactory(tenant=tenant), 2)], status=status, number="SO-5"
    )
    before = snapshot(tenant)

    response = api.delete(detail(order.id))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Order SO-5 is {order.get_status_display().lower()}; cancel it instead.",
        "extra": {},
    }
    assert snapshot(tenant) == before


# --- who may do what -------------------------------------------------------------------------
def _writes(tenant):
    order = order_with_lines(tenant, [(ProductFactory(tenant=tenant), 2)])
    body = {
        "customer_id": order.customer_id,
        "site_id": order.site_id,
        "due_date": DUE.isoformat(),
    }
    return [
        ("post", LIST, body),
        ("patch", detail(order.id), {"notes": "changed"}),
        ("delete", detail(order.id), None),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["create", "update", "delete"])
def test_a_read_only_key_cannot_write(system, tenant, index):
    method, url, body = _writes(tenant)[index]
    client = key_client(system, read_only=True)
    before = snapshot(tenant)

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant) == before
    assert client.get(LIST).status_code == 200


@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.OPERATOR])
@pytest.mark.parametrize("index", [0, 1, 2], ids=["create", "update", "delete"])
def test_viewers_and_operators_cannot_write(tenant, role, index):
    method, url, body = _writes(tenant)[index]
    client = member_client(tenant, role)
    before = snapshot(tenant)

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": f"Your role ({role}) does not allow this action (orders.manage).",
        "extra": {},
    }
    assert snapshot(tenant) == before
    assert ids(client.get(LIST)) == [before[0][0]["id"]]


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.OWNER])
def test_managers_write_with_their_session(tenant, role):
    client = member_client(tenant, role)
    (_, _, body), (_, patch_url, _), (_, delete_url, _) = _writes(tenant)

    created = client.post(LIST, body, format="json")
    updated = client.patch(patch_url, {"notes": "by hand"}, format="json")
    deleted = client.delete(delete_url)

    assert (created.status_code, updated.status_code, deleted.status_code) == (201, 200, 204)
    assert updated.json()["notes"] == "by hand"
    assert ids(client.get(LIST)) == [created.json()["id"]]


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"notes": "Hijacked"}), ("delete", None)],
)
def test_another_tenants_order_is_not_found(api, tenant, other_tenant, method, body):
    foreign = order_with_lines(other_tenant, [(ProductFactory(tenant=other_tenant), 2)])
    before = snapshot(other_tenant)

    response = getattr(api, method)(detail(foreign.id), body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Order not found.", "extra": {}}
    assert snapshot(other_tenant) == before
    assert ids(api.get(LIST)) == []
