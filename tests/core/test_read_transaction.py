"""GET and HEAD run in one transaction on PostgreSQL (mfapp.core.middleware): the row-level
security settings are written once per request, not around every statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.api.conftest import key_client
from tests.factories import MembershipFactory, OrderFactory, TenantFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _statements(call) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.content[:300]
    return [query["sql"].split(" ")[0] for query in captured]


def test_a_page_read_is_one_transaction(client):
    tenant = TenantFactory()
    OrderFactory(tenant=tenant)
    client.force_login(MembershipFactory(tenant=tenant, role="owner").user)
    client.get(reverse("orders:order-list"))

    statements = _statements(lambda: client.get(reverse("orders:order-list")))

    assert statements[0] == "BEGIN"
    assert statements[-1] == "COMMIT"
    assert statements.count("BEGIN") == 1
    assert len(statements) > 4  # session, user, memberships, orders...


def test_an_api_read_is_one_transaction_and_a_write_is_not():
    tenant = TenantFactory()
    order = OrderFactory(tenant=tenant)
    client, _ = key_client(tenant)
    client.get("/api/v1/orders/")

    read = _statements(lambda: client.get(f"/api/v1/orders/{order.pk}/"))
    assert (read[0], read[-1], read.count("BEGIN")) == ("BEGIN", "COMMIT", 1)

    write = _statements(
        lambda: client.post(
            "/api/v1/customers/",
            {"name": "Write Ltd", "email": "w@example.com", "country": "DE"},
            format="json",
        )
    )
    # The service's own transaction, not one around the whole request.
    assert write.count("BEGIN") == 2  # the key lookup (autocommit) and the service
