"""One order from the shop to shipping, every step through the API as an integration does it."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from mfapp.catalog.capabilities import Capability
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    CustomerFactory,
    MaterialFactory,
    SiteFactory,
    machine_for,
    product_with_routing,
)


def test_an_order_from_the_shop_to_shipping(system, tenant):
    _, raw = api_key_create(actor=system, name="shop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    site = SiteFactory(tenant=tenant)
    printer = machine_for(site, Capability.FDM_PRINT, Capability.POST_PROCESS)
    product = product_with_routing(
        tenant, [(Capability.FDM_PRINT, "12"), (Capability.POST_PROCESS, "2")]
    )
    pla = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("5.000"))

    created = api.post(
        "/api/v1/orders/",
        {
            "customer_id": CustomerFactory(tenant=tenant).id,
            "site_id": site.id,
            "due_date": (timezone.localdate() + timedelta(days=5)).isoformat(),
            "lines": [{"product_id": product.id, "quantity": 4}],
        },
        format="json",
    )
    order_url = f"/api/v1/orders/{created.json()['id']}/"
    confirmed = api.post(f"{order_url}confirm/")
    [batch] = api.get("/api/v1/batches/", {"order": created.json()["id"]}).json()["results"]
    operations = api.get("/api/v1/operations/", {"batch": batch["id"]}).json()["results"]
    steps = []
    for operation in operations:
        op_url = f"/api/v1/operations/{operation['id']}/"
        started = api.post(f"{op_url}start/", {"machine_id": printer.id}, format="json")
        if operation["sequence"] == 10:
            consumed = api.post(
                "/api/v1/material-consumptions/",
                {"batch_id": batch["id"], "material_id": pla.id, "quantity": "0.480"},
                format="json",
            )
            in_production = api.get(order_url).json()["status"]
        finished = api.post(f"{op_url}finish/", {"quantity_good": 4}, format="json")
        steps.append((started.status_code, finished.status_code, finished.json()["status"]))
    batch_url = f"/api/v1/batches/{batch['id']}/"
    in_check = api.get(batch_url).json()
    checked = api.post(
        "/api/v1/quality-checks/",
        {
            "batch_id": batch["id"],
            "characteristic": "width",
            "target": "20",
            "tolerance": "0.2",
            "measured": "20.1",
            "unit": "mm",
        },
        format="json",
    )
    completed = api.post(f"{batch_url}complete/")
    ready = api.get(order_url).json()["status"]
    shipped = api.post(f"{order_url}ship/")

    assert (created.status_code, confirmed.json()["status"]) == (201, "confirmed")
    assert (batch["quantity_planned"], batch["status"]) == (4, "planned")
    assert [op["sequence"] for op in operations] == [10, 20]
    assert steps == [(200, 200, "done"), (200, 200, "done")]
    assert (consumed.status_code, consumed.json()["quantity"]) == (201, "0.480")
    assert in_production == "in_production"
    assert (in_check["status"], in_check["quantity_good"]) == ("quality_check", 4)
    assert (checked.status_code, checked.json()["passed"]) == (201, True)
    assert (completed.status_code, completed.json()["status"]) == (200, "completed")
    assert ready == "ready"
    assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped")
    pla.refresh_from_db()
    assert pla.stock_on_hand == Decimal("4.520")
