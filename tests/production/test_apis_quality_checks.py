"""/api/v1/quality-checks/: list, retrieve and record measurements of a batch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.production.models import Batch, QualityCheck
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    BatchFactory,
    MembershipFactory,
    QualityCheckFactory,
    audit_events,
    batch_with_operations,
)

LIST = "/api/v1/quality-checks/"
B = Batch.Status


def detail(pk):
    return f"/api/v1/quality-checks/{pk}/"


def iso(value):
    return None if value is None else DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="gauge", read_only=read_only)
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


def as_json(check):
    check.refresh_from_db()
    return {
        "id": check.id,
        "created_at": iso(check.created_at),
        "updated_at": iso(check.updated_at),
        "batch": check.batch_id,
        "operation": check.operation_id,
        "characteristic": check.characteristic,
        "unit": check.unit,
        "target": f"{check.target:.4f}",
        "tolerance": f"{check.tolerance:.4f}",
        "measured": f"{check.measured:.4f}",
        "passed": check.passed,
        "checked_by": check.checked_by_id,
        "checked_at": iso(check.checked_at),
        "notes": check.notes,
    }


def snapshot(tenant):
    return (
        list(QualityCheck.objects.for_tenant(tenant).order_by("id").values()),
        list(Batch.objects.for_tenant(tenant).order_by("id").values()),
    )


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def body_for(batch, **change):
    return {
        "batch_id": batch.id,
        "characteristic": "hole diameter",
        "target": "5.0000",
        "tolerance": "0.1000",
        "measured": "5.0800",
        "unit": "mm",
        **change,
    }


# --- create ----------------------------------------------------------------------------------
def test_record_a_passing_check_of_an_operation(api, tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    operation = batch.operations.order_by("sequence").first()

    response = api.post(
        LIST, body_for(batch, operation_id=operation.id, notes="Caliper #3"), format="json"
    )

    assert response.status_code == 201
    check = QualityCheck.objects.for_tenant(tenant).get()
    assert response.json() == as_json(check)
    assert response.json() == {
        "id": check.id,
        "created_at": iso(check.created_at),
        "updated_at": iso(check.updated_at),
        "batch": batch.id,
        "operation": operation.id,
        "characteristic": "hole diameter",
        "unit": "mm",
        "target": "5.0000",
        "tolerance": "0.1000",
        "measured": "5.0800",
        "passed": True,
        "checked_by": None,
        "checked_at": iso(check.checked_at),
        "notes": "Caliper #3",
    }
    assert [e.target_id for e in audit_events(tenant, verb="quality_check.recorded")] == [batch.id]


def test_record_a_failing_check_as_an_operator(tenant):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)
    client, user = member_client(tenant, Membership.Role.OPERATOR)

    response = client.post(LIST, body_for(batch, measured="5.2"), format="json")

    assert response.status_code == 201
    check = QualityCheck.objects.for_tenant(tenant).get()
    assert response.json() == as_json(check)
    assert (check.passed, check.checked_by, check.measured) == (False, user, Decimal("5.2"))


@pytest.mark.parametrize("status", [B.PLANNED, B.SCHEDULED, B.COMPLETED, B.CANCELLED])
def test_record_outside_production_is_a_conflict(api, tenant, status):
    batch = BatchFactory(tenant=tenant, lot_code="L-1", status=status)
    before = snapshot(tenant)

    response = api.post(LIST, body_for(batch), format="json")

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Batch L-1 is {batch.get_status_display().lower()}; checks are recorded while "
        "it is in progress or in quality check.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
def test_record_for_an_unknown_or_foreign_batch_is_not_found(api, tenant, other_tenant, whose):
    foreign = BatchFactory(tenant=other_tenant, status=B.IN_PROGRESS)
    batch = foreign if whose == "other-tenant" else BatchFactory.build(id=987654321)
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(LIST, body_for(batch), format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Batch not found.", "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


@pytest.mark.parametrize("whose", ["another-batch", "other-tenant", "missing"])
def test_record_against_an_operation_not_of_the_batch_is_refused(api, tenant, other_tenant, whose):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    operation_id = {
        "another-batch": lambda: batch_with_operations(tenant).operations.first().id,
        "other-tenant": lambda: batch_with_operations(other_tenant).operations.first().id,
        "missing": lambda: 987654321,
    }[whose]()
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(LIST, body_for(batch, operation_id=operation_id), format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Operation not found.", "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (
            {"tolerance": "-0.1"},
            {"tolerance": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"target": "five"}, {"target": ["A valid number is required."]}),
        (
            {"measured": "1e20"},
            {"measured": ["Ensure that there are no more than 14 digits in total."]},
        ),
        (
            {"measured": "5.00001"},
            {"measured": ["Ensure that there are no more than 4 decimal places."]},
        ),
        ({"characteristic": ""}, {"characteristic": ["This field may not be blank."]}),
        ({"unit": "x" * 17}, {"unit": ["Ensure this field has no more than 16 characters."]}),
        ({"batch_id": "L-1"}, {"batch_id": ["A valid integer is required."]}),
        (
            {"operation_id": -4},
            {"operation_id": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
    ids=[
        "negative",
        "wrong-type",
        "huge",
        "precision",
        "blank",
        "long",
        "batch-type",
        "op-negative",
    ],
)
def test_record_refuses_bad_input(api, tenant, change, fields):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    before = snapshot(tenant)

    response = api.post(LIST, body_for(batch, **change), format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


def test_record_refuses_missing_fields(api, tenant):
    response = api.post(LIST, {}, format="json")

    required = ["This field is required."]
    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "characteristic": required,
                "target": required,
                "tolerance": required,
                "measured": required,
                "batch_id": required,
            }
        },
    }


def test_checks_are_not_changed_or_deleted(api, tenant):
    check = QualityCheckFactory(tenant=tenant)
    before = snapshot(tenant)

    patched = api.patch(detail(check.id), {"measured": "5"}, format="json")
    deleted = api.delete(detail(check.id))

    assert (patched.status_code, deleted.status_code) == (405, 405)
    assert snapshot(tenant) == before


# --- list and retrieve -----------------------------------------------------------------------
def test_list_and_filter_checks(api, tenant, other_tenant):
    batch, other_batch = BatchFactory(tenant=tenant), BatchFactory(tenant=tenant)
    now = timezone.now()
    old_pass = QualityCheckFactory(
        tenant=tenant, batch=batch, measured=Decimal("5"), checked_at=now - timedelta(hours=2)
    )
    fail = QualityCheckFactory(
        tenant=tenant, batch=batch, measured=Decimal("9"), checked_at=now - timedelta(hours=1)
    )
    other = QualityCheckFactory(tenant=tenant, batch=other_batch, checked_at=now)
    later = now + timedelta(hours=1)
    QualityCheck.objects.for_tenant(tenant).filter(pk=old_pass.pk).update(updated_at=later)
    QualityCheckFactory(tenant=other_tenant)

    def get(**params):
        return ids(api.get(LIST, params))

    assert get() == [other.id, fail.id, old_pass.id]
    assert get(batch=batch.id) == [fail.id, old_pass.id]
    assert get(passed="false") == [fail.id]
    assert get(passed="true", batch=batch.id) == [old_pass.id]
    assert get(updated_since=(later - timedelta(minutes=1)).isoformat()) == [old_pass.id]
    assert get(ordering="checked_at") == [old_pass.id, fail.id, other.id]
    assert api.get(LIST, {"passed": "false"}).json()["results"] == [as_json(fail)]


def test_list_refuses_bad_filters(api, tenant):
    response = api.get(LIST, {"batch": "first"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"batch": ["Enter a whole number."]}},
    }


def test_list_runs_the_same_queries_for_3_and_30_checks(api, tenant, django_assert_num_queries):
    # the api key, the count and the page
    api.get(LIST)
    batch = BatchFactory(tenant=tenant)
    QualityCheckFactory.create_batch(3, tenant=tenant, batch=batch)
    with django_assert_num_queries(3):
        assert len(api.get(LIST).json()["results"]) == 3
    QualityCheckFactory.create_batch(27, tenant=tenant, batch=batch)
    with django_assert_num_queries(3):
        assert len(api.get(LIST, {"page_size": 30}).json()["results"]) == 30


def test_retrieve_a_check(api, tenant):
    check = QualityCheckFactory(tenant=tenant, notes="ok")

    response = api.get(detail(check.id))

    assert response.status_code == 200
    assert response.json() == as_json(check)


# --- who may do what -------------------------------------------------------------------------
def test_a_read_only_key_cannot_record(system, tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    client = key_client(system, read_only=True)

    response = client.post(LIST, body_for(batch), format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant)[0] == []
    assert client.get(LIST).status_code == 200


def test_a_viewer_cannot_record(tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    client, _ = member_client(tenant, Membership.Role.VIEWER)
    before = snapshot(tenant)

    response = client.post(LIST, body_for(batch), format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role (viewer) does not allow this action (quality.record).",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_another_tenants_check_is_not_found(api, tenant, other_tenant):
    foreign = QualityCheckFactory(tenant=other_tenant)

    response = api.get(detail(foreign.id))

    assert response.status_code == 404
    assert response.json() == {"message": "Quality check not found.", "extra": {}}
    assert ids(api.get(LIST)) == []
