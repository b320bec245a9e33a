"""Catalog resources through the API: exact answers, bad input, isolation, fixed query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.tenancy.selectors import system_actor
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    BomLineFactory,
    MaterialFactory,
    ProductFactory,
    RoutingStepFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(tenant):
    _, raw = api_key_create(actor=system_actor(tenant=tenant), name="catalog")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_product_create_answers_the_saved_product(api, tenant):
    response = api.post(
        "/api/v1/products/",
        {"sku": "NW-1", "name": "Stand", "unit_price": "19.90", "max_batch_size": 12},
        format="json",
    )

    product = Product.objects.for_tenant(tenant).get()
    assert response.status_code == 201
    assert response.json() == {
        "id": product.pk,
        "created_at": response.json()["created_at"],
        "updated_at": response.json()["updated_at"],
        "sku": "NW-1",
        "name": "Stand",
        "description": "",
        "design_revision": "A",
        "unit_price": "19.90",
        "unit_mass_kg": "0.000",
        "max_batch_size": 12,
        "is_active": True,
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "No SKU"}, {"sku": ["This field is required."]}),
        (
            {"sku": "X", "name": "Y", "unit_price": "-1"},
            {"unit_price": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"sku": "X", "name": "Y", "unit_price": "1e20"},
            {"unit_price": ["Ensure that there are no more than 12 digits in total."]},
        ),
        (
            {"sku": "X", "name": "Y", "max_batch_size": 0},
            {"max_batch_size": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"sku": "X", "name": "Y", "max_batch_size": "many"},
            {"max_batch_size": ["A valid integer is required."]},
        ),
        ({"sku": "X", "name": "Y", "tenant": 2}, {"tenant": ["Unknown field."]}),
    ],
)
def test_bad_product_input_is_a_400_per_field_and_saves_nothing(api, tenant, body, fields):
    response = api.post("/api/v1/products/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert Product.objects.for_tenant(tenant).count() == 0


def test_routing_step_and_bom_line_of_another_tenants_product_or_material_are_404(
    api, tenant, other_tenant
):
    mine = ProductFactory(tenant=tenant)
    foreign_product = ProductFactory(tenant=other_tenant)
    foreign_material = MaterialFactory(tenant=other_tenant)

    step = api.post(
        "/api/v1/routing-steps/",
        {
            "product_id": foreign_product.pk,
            "name": "Print",
            "capability": "fdm-print",
            "run_minutes_per_unit": "5",
        },
        format="json",
    )
    line = api.post(
        "/api/v1/bom-lines/",
        {"product_id": mine.pk, "material_id": foreign_material.pk, "quantity_per_unit": "0.1"},
        format="json",
    )

    assert (step.status_code, step.json()) == (404, {"message": "Product not found.", "extra": {}})
    assert (line.status_code, line.json()) == (404, {"message": "Material not found.", "extra": {}})
    assert RoutingStep.objects.all_tenants().count() == 0
    assert BomLine.objects.all_tenants().count() == 0


def test_stock_adjustment_keeps_its_reason_and_refuses_negative_stock(api, tenant):
    material = MaterialFactory(tenant=tenant, stock_on_hand="2.000")

    added = api.post(
        f"/api/v1/materials/{material.pk}/adjust-stock/",
        {"delta": "3", "reason": "Delivery 42"},
        format="json",
    )
    refused = api.post(
        f"/api/v1/materials/{material.pk}/adjust-stock/",
        {"delta": "-9", "reason": "Count"},
        format="json",
    )

    assert (added.status_code, added.json()["stock_on_hand"]) == (200, "5.000")
    assert refused.status_code == 400
    material.refresh_from_db()
    assert str(material.stock_on_hand) == "5.000"


def test_stock_cannot_be_patched_directly(api, tenant):
    material = MaterialFactory(tenant=tenant, stock_on_hand="2.000")

    response = api.patch(
        f"/api/v1/materials/{material.pk}/", {"stock_on_hand": "99"}, format="json"
    )

    assert response.status_code == 400
    material.refresh_from_db()
    assert str(material.stock_on_hand) == "2.000"


def test_a_used_product_cannot_be_deleted(api, tenant):
    line = BomLineFactory(tenant=tenant)
    from tests.factories import BatchFactory

    BatchFactory(tenant=tenant, product=line.product)

    response = api.delete(f"/api/v1/products/{line.product_id}/")

    assert response.status_code == 409
    assert Product.objects.for_tenant(tenant).filter(pk=line.product_id).exists()


LISTS = {
    "/api/v1/products/": lambda t: ProductFactory(tenant=t),
    "/api/v1/materials/": lambda t: MaterialFactory(tenant=t),
    "/api/v1/routing-steps/": lambda t: RoutingStepFactory(tenant=t),
    "/api/v1/bom-lines/": lambda t: BomLineFactory(tenant=t),
    "/api/v1/webhook-endpoints/": lambda t: WebhookEndpointFactory(tenant=t),
    "/api/v1/webhook-deliveries/": lambda t: WebhookDeliveryFactory(tenant=t),
}


@pytest.mark.parametrize("url", LISTS)
def test_lists_run_a_fixed_number_of_queries_whatever_the_page_size(api, tenant, url):
    def queries_for(rows):
        while len(api.get(url, {"page_size": 100}).json()["results"]) < rows:
            LISTS[url](tenant)
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url, {"page_size": 100})
        assert len(response.json()["results"]) == rows
        return len(captured)

    assert queries_for(3) == queries_for(30)


def test_material_list_filters_and_incremental_sync(api, tenant):
    old = MaterialFactory(tenant=tenant, unit="kg")
    MaterialFactory(tenant=tenant, unit="piece")
    Material.objects.for_tenant(tenant).filter(pk=old.pk).update(updated_at="2020-01-01T00:00:00Z")

    by_unit = api.get("/api/v1/materials/", {"unit": "kg"}).json()["results"]
    recent = api.get("/api/v1/materials/", {"updated_since": "2021-01-01T00:00:00Z"}).json()[
        "results"
    ]

    assert [m["id"] for m in by_unit] == [old.pk]
    assert old.pk not in [m["id"] for m in recent]
    assert len(recent) == 1
