"""Every list endpoint of the API costs the same number of queries whatever the number of rows
(no N+1): each list is called with two rows, then with six, and the queries must not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import ROUTES, TARGETS, call, key_client
from tests.factories import (
    ProductFactory,
    batch_with_operations,
    order_with_lines,
    product_with_routing,
)

pytestmark = pytest.mark.django_db
LIST_ROUTES = [route for route in ROUTES if route.action == "list"]

# Rows with everything a list might fetch row by row: lines, routing steps, operations.
RICH_ROWS = {
    "order": lambda t: order_with_lines(
        t, [(ProductFactory(tenant=t), 2), (ProductFactory(tenant=t), 3)]
    ),
    "product": lambda t: product_with_routing(t, (("fdm-print", "12"), ("cnc-mill-3axis", "5"))),
    "batch": lambda t: batch_with_operations(t),
}


def _add_rows(route, tenant, count):
    make = RICH_ROWS.get(route.basename) or (lambda t: TARGETS[(route.basename, "retrieve")](t).obj)
    for _ in range(count):
        make(tenant)


def _queries(client, route):
    with CaptureQueriesContext(connection) as captured:
        response = call(client, route)
    assert response.status_code == 200, response.content[:500]
    return len(captured), response.json()["count"]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda r: r.id)
def test_a_list_costs_the_same_queries_whatever_its_rows(route, tenant):
    client, _ = key_client(tenant)
    _add_rows(route, tenant, 2)
    call(client, route)  # the key's first use of the minute writes its last-used time

    few, few_rows = _queries(client, route)
    _add_rows(route, tenant, 4)
    many, many_rows = _queries(client, route)

    assert many_rows >= few_rows + 4, "the rows were not added to this list"
    assert many == few, f"{route.id}: {few} queries for {few_rows} rows, {many} for {many_rows}"
