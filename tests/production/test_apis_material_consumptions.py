"""/api/v1/material-consumptions/: what batches used, taken out of stock when recorded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.catalog.models import Material
from mfapp.production.models import Batch, MaterialConsumption
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    BatchFactory,
    MaterialConsumptionFactory,
    MaterialFactory,
    MembershipFactory,
    audit_events,
)

LIST = "/api/v1/material-consumptions/"
B = Batch.Status


def detail(pk):
    return f"/api/v1/material-consumptions/{pk}/"


def iso(value):
    return None if value is None else DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="scale", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def member_client(tenant, role):
    membership = MembershipFactory(tenant=tenant, role=role)
    client = APIClient()
    client.force_login(membership.user)
    return client, membership.user


@pytest.fixture
def api(system):
    return key_client(system)


def as_json(consumption):
    consumption.refresh_from_db()
    return {
        "id": consumption.id,
        "created_at": iso(consumption.created_at),
        "updated_at": iso(consumption.updated_at),
        "batch": consumption.batch_id,
        "material": consumption.material_id,
        "quantity": f"{consumption.quantity:.3f}",
        "material_lot": consumption.material_lot,
        "recorded_by": consumption.recorded_by_id,
        "recorded_at": iso(consumption.recorded_at),
    }


def snapshot(tenant):
    return (
        list(MaterialConsumption.objects.for_tenant(tenant).order_by("id").values()),
        list(Material.objects.for_tenant(tenant).order_by("id").values()),
        list(Batch.objects.for_tenant(tenant).order_by("id").values()),
    )


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def running_batch(tenant):
    return BatchFactory(tenant=tenant, lot_code="L-1", status=B.IN_PROGRESS)


@pytest.fixture
def pla(tenant):
    return MaterialFactory(tenant=tenant, name="PLA black", stock_on_hand=Decimal("2.000"))


# --- create ----------------------------------------------------------------------------------
def test_record_a_consumption_takes_it_out_of_stock(api, tenant, running_batch, pla):
    response = api.post(
        LIST,
        {
            "batch_id": running_batch.id,
            "material_id": pla.id,
            "quantity": "0.750",
            "material_lot": "SPOOL-17",
        },
        format="json",
    )

    assert response.status_code == 201
    consumption = MaterialConsumption.objects.for_tenant(tenant).get()
    assert response.json() == as_json(consumption)
    assert response.json() == {
        "id": consumption.id,
        "created_at": iso(consumption.created_at),
        "updated_at": iso(consumption.updated_at),
        "batch": running_batch.id,
        "material": pla.id,
        "quantity": "0.750",
        "material_lot": "SPOOL-17",
        "recorded_by": None,
        "recorded_at": iso(consumption.recorded_at),
    }
    pla.refresh_from_db()
    assert pla.stock_on_hand == Decimal("1.250")
    [event] = audit_events(tenant, verb="material.consumed")
    assert (event.target_id, event.actor_label) == (running_batch.id, "api-key:scale")


def test_an_operator_records_with_their_session(tenant, running_batch, pla):
    client, user = member_client(tenant, Membership.Role.OPERATOR)

    response = client.post(
        LIST, {"batch_id": running_batch.id, "material_id": pla.id, "quantity": 2}, format="json"
    )

    assert response.status_code == 201
    consumption = MaterialConsumption.objects.for_tenant(tenant).get()
    assert response.json() == as_json(consumption)
    assert (consumption.recorded_by, consumption.material_lot) == (user, "")
    pla.refresh_from_db()
    assert pla.stock_on_hand == Decimal("0.000")


def test_record_more_than_in_stock_is_refused(api, tenant, running_batch, pla):
    before = snapshot(tenant)

    response = api.post(
        LIST,
        {"batch_id": running_batch.id, "material_id": pla.id, "quantity": "2.001"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Only 2.000 kg of PLA black in stock; record the receipt of the material first.",
        "extra": {"fields": {"quantity": ["At most 2.000."]}},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize("status", [B.PLANNED, B.COMPLETED, B.CANCELLED])
def test_record_outside_production_is_a_conflict(api, tenant, pla, status):
    batch = BatchFactory(tenant=tenant, lot_code="L-2", status=status)
    before = snapshot(tenant)

    response = api.post(
        LIST, {"batch_id": batch.id, "material_id": pla.id, "quantity": "1"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Batch L-2 is {batch.get_status_display().lower()}; consumption is recorded "
        "while it is in progress or in quality check.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
@pytest.mark.parametrize(
    ("field", "message"), [("batch_id", "Batch not found."), ("material_id", "Material not found.")]
)
def test_record_with_an_unknown_or_foreign_id_is_not_found(
    api, tenant, other_tenant, running_batch, pla, whose, field, message
):
    theirs = {
        "batch_id": BatchFactory(tenant=other_tenant, status=B.IN_PROGRESS).id,
        "material_id": MaterialFactory(tenant=other_tenant).id,
    }
    body = {"batch_id": running_batch.id, "material_id": pla.id, "quantity": "1"}
    body[field] = theirs[field] if whose == "other-tenant" else 987654321
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(LIST, body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": message, "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (
            {"quantity": "-1"},
            {"quantity": ["Ensure this value is greater than or equal to 0.001."]},
        ),
        ({"quantity": "0"}, {"quantity": ["Ensure this value is greater than or equal to 0.001."]}),
        (
            {"quantity": "99999999999"},
            {"quantity": ["Ensure that there are no more than 10 digits in total."]},
        ),
        (
            {"quantity": "1.0001"},
            {"quantity": ["Ensure that there are no more than 3 decimal places."]},
        ),
        ({"quantity": "lots"}, {"quantity": ["A valid number is required."]}),
        ({"material_id": [1]}, {"material_id": ["A valid integer is required."]}),
        (
            {"material_lot": "x" * 65},
            {"material_lot": ["Ensure this field has no more than 64 characters."]},
        ),
    ],
    ids=["negative", "zero", "huge", "precision", "wrong-type", "id-type", "long-lot"],
)
def test_record_refuses_bad_input(api, tenant, running_batch, pla, change, fields):
    before = snapshot(tenant)
    body = {"batch_id": running_batch.id, "material_id": pla.id, "quantity": "1", **change}

    response = api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


def test_record_refuses_missing_fields(api, tenant):
    response = api.post(LIST, {}, format="json")

    required = ["This field is required."]
    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"quantity": required, "batch_id": required, "material_id": required}},
    }


def test_consumptions_are_not_changed_or_deleted(api, tenant):
    consumption = MaterialConsumptionFactory(tenant=tenant)
    before = snapshot(tenant)

    patched = api.patch(detail(consumption.id), {"quantity": "5"}, format="json")
    deleted = api.delete(detail(consumption.id))

    assert (patched.status_code, deleted.status_code) == (405, 405)
    assert snapshot(tenant) == before


# --- list and retrieve -----------------------------------------------------------------------
def test_list_and_filter_consumptions(api, tenant, other_tenant, running_batch, pla):
    other_batch = BatchFactory(tenant=tenant)
    steel = MaterialFactory(tenant=tenant)
    now = timezone.now()
    first = MaterialConsumptionFactory(
        tenant=tenant, batch=running_batch, material=pla, recorded_at=now - timedelta(hours=2)
    )
    second = MaterialConsumptionFactory(
        tenant=tenant, batch=running_batch, material=steel, recorded_at=now - timedelta(hours=1)
    )
    third = MaterialConsumptionFactory(
        tenant=tenant, batch=other_batch, material=pla, recorded_at=now
    )
    later = now + timedelta(hours=1)
    MaterialConsumption.objects.for_tenant(tenant).filter(pk=second.pk).update(updated_at=later)
    MaterialConsumptionFactory(tenant=other_tenant)

    def get(**params):
        return ids(api.get(LIST, params))

    assert get() == [third.id, second.id, first.id]
    assert get(batch=running_batch.id) == [second.id, first.id]
    assert get(material=pla.id) == [third.id, first.id]
    assert get(material=pla.id, batch=running_batch.id) == [first.id]
    assert get(updated_since=(later - timedelta(minutes=1)).isoformat()) == [second.id]
    assert get(ordering="recorded_at") == [first.id, second.id, third.id]
    assert api.get(LIST, {"material": steel.id}).json()["results"] == [as_json(second)]


def test_list_runs_the_same_queries_for_3_and_30_consumptions(
    api, tenant, django_assert_num_queries
):
    # the api key, the count and the page
    api.get(LIST)
    batch = BatchFactory(tenant=tenant)
    material = MaterialFactory(tenant=tenant)
    MaterialConsumptionFactory.create_batch(3, tenant=tenant, batch=batch, material=material)
    with django_assert_num_queries(3):
        assert len(api.get(LIST).json()["results"]) == 3
    MaterialConsumptionFactory.create_batch(27, tenant=tenant, batch=batch, material=material)
    with django_assert_num_queries(3):
        assert len(api.get(LIST, {"page_size": 30}).json()["results"]) == 30


def test_retrieve_a_consumption(api, tenant):
    consumption = MaterialConsumptionFactory(tenant=tenant)

    response = api.get(detail(consumption.id))

    assert response.status_code == 200
    assert response.json() == as_json(consumption)


# --- who may do what -------------------------------------------------------------------------
def test_a_read_only_key_cannot_record(system, tenant, running_batch, pla):
    client = key_client(system, read_only=True)
    before = snapshot(tenant)

    response = client.post(
        LIST, {"batch_id": running_batch.id, "material_id": pla.id, "quantity": "1"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant) == before


def test_a_viewer_cannot_record(tenant, running_batch, pla):
    client, _ = member_client(tenant, Membership.Role.VIEWER)
    before = snapshot(tenant)

    response = client.post(
        LIST, {"batch_id": running_batch.id, "material_id": pla.id, "quantity": "1"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role (viewer) does not allow this action (operations.run).",
        "extra": {},
    }
    assert snapshot(tenant) == before
    assert client.get(LIST).status_code == 200


def test_another_tenants_consumption_is_not_found(api, tenant, other_tenant):
    foreign = MaterialConsumptionFactory(tenant=other_tenant)

    response = api.get(detail(foreign.id))

    assert response.status_code == 404
    assert response.json() == {"message": "Material consumption not found.", "extra": {}}
    assert ids(api.get(LIST)) == []
