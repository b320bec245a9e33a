"""Bad input to the API: request bodies over the size limit, too many parameters, and lists
that would grow without bound. Every list answers a page of at most 500 rows, whatever
`page_size` asks for; nested lists are bounded where their rows are created."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import resolve

from mfapp.core.pagination import MAX_PAGE_SIZE, Pagination
from mfapp.machines.models import EnergyReading
from mfapp.machines.services import MAX_READINGS_PER_CALL
from mfapp.orders.models import Customer, OrderLine
from mfapp.orders.services import MAX_LINES_PER_ORDER
from mfapp.production.models import BatchOperation
from tests.api.conftest import ROUTES, key_client
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    CustomerFactory,
    MachineFactory,
    OrderFactory,
    ProductFactory,
    ScheduleRunFactory,
)

pytestmark = pytest.mark.django_db
LIST_ROUTES = [route for route in ROUTES if route.action == "list"]
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


# --- request bodies ------------------------------------------------------------------------------
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
def test_a_body_over_the_limit_is_a_json_413_and_saves_nothing(tenant, idempotent):
    # given: a customer whose name alone is over the 2 MB limit
    client, _ = key_client(tenant)
    client.raise_request_exception = False
    body = json.dumps({"name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "country": "DE"})
    headers = {"HTTP_IDEMPOTENCY_KEY": "big-1"} if idempotent else {}

    # when
    response = client.post("/api/v1/customers/", body, content_type="application/json", **headers)

    # then
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": "The request body is larger than 2 MB; send less per call.",
        "extra": {},
    }
    assert Customer.objects.for_tenant(tenant).count() == 0


def test_a_body_over_the_limit_is_never_a_server_error(tenant):
    """Whatever the exception handler does with it: a 4xx, never a 500."""
    client, _ = key_client(tenant)
    client.raise_request_exception = False
    body = json.dumps({"readings": [{"machine_id": 1}] * 200_000})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = client.post("/api/v1/energy-readings/bulk/", body, content_type="application/json")

    assert response.status_code in (400, 413)


def test_too_many_query_parameters_are_a_json_400(tenant):
    client, _ = key_client(tenant)
    client.raise_request_exception = False
    query = "&".join(f"p{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client.get(f"/api/v1/customers/?{query}")

    assert response.status_code == 400
    assert response.json() == {
        "message": "The request has more than 1,000 parameters.",
        "extra": {},
    }


def test_the_largest_bulk_of_meter_readings_fits_the_limit(tenant):
    # given: 1,000 readings with every field at its longest, indented and ASCII-escaped: the
    # largest body an integration could legitimately send
    machine = MachineFactory(tenant=tenant)
    readings = []
    for hour in range(MAX_READINGS_PER_CALL):
        end = T0 + timedelta(hours=hour, microseconds=123456)
        readings.append(
            {
                "machine_id": machine.pk,
                "kind": "interval",
                "kwh": "9999999999.9999",
                "recorded_at": end.isoformat(),
                "interval_start": (end - timedelta(hours=1)).isoformat(),
                "source": "é" * 100,
            }
        )
    body = json.dumps({"readings": readings}, indent=4, ensure_ascii=True)
    client, _ = key_client(tenant)

    # when
    response = client.post("/api/v1/energy-readings/bulk/", body, content_type="application/json")

    # then: under half the limit, and accepted
    assert len(body.encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2
    assert response.status_code == 201, response.json()
    assert response.json()["count"] == MAX_READINGS_PER_CALL
    assert EnergyReading.objects.for_tenant(tenant).count() == MAX_READINGS_PER_CALL
    assert EnergyReading.objects.for_tenant(tenant).first().kwh == Decimal("9999999999.9999")


# --- every list has a maximum page size ----------------------------------------------------------
@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda route: route.id)
def test_every_list_answers_pages_of_at_most_500(tenant, route):
    # given: a caller asking for far more rows than a page holds
    client, _ = key_client(tenant)
    view = resolve(route.url()).func.cls

    # when
    response = client.get(route.url(), {"page_size": 100_000})

    # then: the list is paginated (count / next / previous / results) by the one paginator
    assert issubclass(view.pagination_class, Pagination)
    assert view.pagination_class.max_page_size == MAX_PAGE_SIZE == 500
    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_a_page_holds_at_most_500_rows_whatever_page_size_asks(tenant):
    # given: 501 customers
    Customer.objects.bulk_create(
        CustomerFactory.build(tenant=tenant) for _ in range(MAX_PAGE_SIZE + 1)
    )
    client, _ = key_client(tenant)

    # when
    first = client.get("/api/v1/customers/", {"page_size": 100_000}).json()
    second = client.get("/api/v1/customers/", {"page_size": 100_000, "page": 2}).json()

    # then
    assert (first["count"], len(first["results"]), len(second["results"])) == (501, 500, 1)
    assert "page_size=100000" in first["next"]


def test_a_schedule_runs_plan_is_paginated_too(tenant):
    # given: a site with 501 open operations
    batch = BatchFactory(tenant=tenant)
    BatchOperation.objects.bulk_create(
        BatchOperationFactory.build(tenant=tenant, batch=batch, sequence=n)
        for n in range(1, MAX_PAGE_SIZE + 2)
    )
    run = ScheduleRunFactory(tenant=tenant, site=batch.site)
    client, _ = key_client(tenant)
    url = f"/api/v1/schedule-runs/{run.pk}/plan/"

    # when
    default = client.get(url).json()
    largest = client.get(url, {"page_size": 100_000}).json()
    last = client.get(url, {"page_size": 100_000, "page": 2}).json()

    # then
    assert (default["run"], default["site"], default["count"]) == (run.pk, batch.site_id, 501)
    assert len(default["operations"]) == Pagination.page_size == 50
    assert default["previous"] is None
    assert (len(largest["operations"]), len(last["operations"])) == (500, 1)
    assert [op["sequence"] for op in largest["operations"] + last["operations"]] == list(
        range(1, 502)
    )
    assert client.get(url, {"page": 3, "page_size": 500}).json() == {
        "message": "Invalid page.",
        "extra": {},
    }


def test_an_orders_nested_lines_are_bounded_where_they_are_added(tenant):
    # given: an order with 100 lines, the most an order has (so a page of orders is bounded)
    product = ProductFactory(tenant=tenant)
    order = OrderFactory(tenant=tenant, number="SO-FULL")
    OrderLine.objects.bulk_create(
        OrderLine(tenant=tenant, order=order, product=product, quantity=1, unit_price=1)
        for _ in range(MAX_LINES_PER_ORDER)
    )
    client, _ = key_client(tenant)

    # when
    added = client.post(
        f"/api/v1/orders/{order.pk}/lines/",
        {"product_id": product.pk, "quantity": 1},
        format="json",
    )

    # then
    assert added.status_code == 400
    assert added.json()["message"] == (
        "Order SO-FULL has 100 lines, the most an order can have; put further products on "
        "another order."
    )
    assert len(client.get(f"/api/v1/orders/{order.pk}/").json()["lines"]) == MAX_LINES_PER_ORDER
