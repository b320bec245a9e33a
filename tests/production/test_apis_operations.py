"""/api/v1/operations/: the operations of batches, and running them on machines."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.machines.models import Machine
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import (
    BatchOperationFactory,
    MembershipFactory,
    SiteFactory,
    audit_events,
    batch_with_operations,
    machine_for,
)

LIST = "/api/v1/operations/"
B = Batch.Status
O = BatchOperation.Status  # noqa: E741
M = Machine.Status


def detail(pk):
    return f"/api/v1/operations/{pk}/"


def url(operation, action):
    return f"/api/v1/operations/{operation.id}/{action}/"


def iso(value):
    return None if value is None else DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="mes", read_only=read_only)
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


def dec(value, places):
    return None if value is None else f"{Decimal(value):.{places}f}"


def as_json(operation):
    operation.refresh_from_db()
    return {
        "id": operation.id,
        "created_at": iso(operation.created_at),
        "updated_at": iso(operation.updated_at),
        "batch": operation.batch_id,
        "routing_step": operation.routing_step_id,
        "sequence": operation.sequence,
        "name": operation.name,
        "capability": operation.capability,
        "setup_minutes": dec(operation.setup_minutes, 2),
        "run_minutes_per_unit": dec(operation.run_minutes_per_unit, 2),
        "material": operation.material_id,
        "machine": operation.machine_id,
        "status": operation.status,
        "planned_start": iso(operation.planned_start),
        "planned_end": iso(operation.planned_end),
        "actual_start": iso(operation.actual_start),
        "actual_end": iso(operation.actual_end),
        "quantity_good": operation.quantity_good,
        "quantity_scrap": operation.quantity_scrap,
        "energy_kwh_measured": dec(operation.energy_kwh_measured, 4),
    }


def snapshot(tenant):
    return (
        list(Batch.objects.for_tenant(tenant).order_by("id").values()),
        list(BatchOperation.objects.for_tenant(tenant).order_by("id").values()),
        list(Machine.objects.for_tenant(tenant).order_by("id").values()),
    )


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def first_pending(tenant, **batch_fields):
    """The first operation of a planned two-step batch, and an available machine for it."""
    batch = batch_with_operations(tenant, **batch_fields)
    return batch.operations.order_by("sequence").first(), machine_for(batch.site)


def running(tenant, quantity=10):
    """A running first operation of an in-progress batch, on a running machine."""
    batch = batch_with_operations(
        tenant, ["fdm-print"], status=B.IN_PROGRESS, quantity_planned=quantity
    )
    machine = machine_for(batch.site, status=M.RUNNING)
    operation = batch.operations.get()
    operation.status, operation.machine = O.RUNNING, machine
    operation.save(update_fields=["status", "machine"])
    return operation


def paused(tenant):
    operation = running(tenant)
    operation.status = O.PAUSED
    operation.save(update_fields=["status"])
    Machine.objects.for_tenant(tenant).filter(pk=operation.machine_id).update(status=M.AVAILABLE)
    return operation


# --- list and retrieve -----------------------------------------------------------------------
def test_list_and_filter_operations(api, tenant, other_tenant):
    site = SiteFactory(tenant=tenant)
    machine = machine_for(site)
    batch = batch_with_operations(tenant, site=site)
    first, second = batch.operations.order_by("sequence")
    other = batch_with_operations(tenant, ["cnc-lathe"], site=site).operations.get()
    t0 = timezone.now().replace(microsecond=0) + timedelta(days=1)
    BatchOperation.objects.for_tenant(tenant).filter(pk=first.pk).update(
        machine=machine, planned_start=t0, planned_end=t0 + timedelta(hours=1)
    )
    BatchOperation.objects.for_tenant(tenant).filter(pk=second.pk).update(
        machine=machine, planned_start=t0 + timedelta(hours=2), status=O.DONE
    )
    later = timezone.now() + timedelta(hours=1)
    BatchOperation.objects.for_tenant(tenant).filter(pk=other.pk).update(updated_at=later)
    batch_with_operations(other_tenant)

    def get(**params):
        return ids(api.get(LIST, params))

    assert get() == [first.id, second.id, other.id]
    assert get(status="done") == [second.id]
    assert get(batch=batch.id) == [first.id, second.id]
    assert get(machine=machine.id) == [first.id, second.id]
    assert get(planned_from=(t0 + timedelta(hours=1)).isoformat()) == [second.id]
    assert get(planned_to=(t0 + timedelta(hours=2)).isoformat()) == [first.id]
    assert get(planned_from=t0.isoformat(), planned_to=(t0 + timedelta(hours=3)).isoformat()) == [
        first.id,
        second.id,
    ]
    assert get(updated_since=(later - timedelta(minutes=1)).isoformat()) == [other.id]
    assert get(batch=batch.id, ordering="-planned_start") == [second.id, first.id]
    results = api.get(LIST, {"batch": batch.id}).json()["results"]
    assert results == [as_json(first), as_json(second)]
    assert (results[0]["machine"], results[0]["planned_start"], results[0]["planned_end"]) == (
        machine.id,
        iso(t0),
        iso(t0 + timedelta(hours=1)),
    )


def test_list_refuses_bad_filters(api, tenant):
    response = api.get(LIST, {"planned_from": "monday", "machine": "-1", "status": "idle"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "planned_from": ["Enter a valid date/time."],
                "machine": ["Ensure this value is greater than or equal to 1."],
                "status": ["Select a valid choice. idle is not one of the available choices."],
            }
        },
    }


def test_list_runs_the_same_queries_for_3_and_30_operations(api, tenant, django_assert_num_queries):
    # the api key, the count and the page
    api.get(LIST)
    site = SiteFactory(tenant=tenant)
    machine = machine_for(site)
    batch = batch_with_operations(tenant, ["fdm-print"] * 3, site=site)
    batch.operations.update(machine=machine)
    with django_assert_num_queries(3):
        assert len(api.get(LIST).json()["results"]) == 3
    for _ in range(9):
        batch_with_operations(tenant, ["fdm-print"] * 3, site=site).operations.update(
            machine=machine
        )
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 30})
    assert len(response.json()["results"]) == 30


def test_retrieve_an_operation(api, tenant):
    operation = BatchOperationFactory(
        tenant=tenant, energy_kwh_measured=Decimal("1.5"), planned_start=timezone.now()
    )

    response = api.get(detail(operation.id))

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    assert response.json()["energy_kwh_measured"] == "1.5000"


def test_retrieve_a_missing_operation(api, tenant):
    response = api.get(detail(987654321))

    assert response.status_code == 404
    assert response.json() == {"message": "Operation not found.", "extra": {}}


def test_operations_are_not_created_changed_or_deleted_directly(api, tenant):
    operation = BatchOperationFactory(tenant=tenant)
    before = snapshot(tenant)

    created = api.post(LIST, {"batch_id": operation.batch_id}, format="json")
    patched = api.patch(detail(operation.id), {"name": "x"}, format="json")
    deleted = api.delete(detail(operation.id))

    assert [created.status_code, patched.status_code, deleted.status_code] == [405, 405, 405]
    assert snapshot(tenant) == before


# --- start -----------------------------------------------------------------------------------
def test_start_on_a_machine_starts_the_batch(api, tenant):
    operation, machine = first_pending(tenant)

    response = api.post(url(operation, "start"), {"machine_id": machine.id}, format="json")

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    assert (operation.status, operation.machine_id) == (O.RUNNING, machine.id)
    assert operation.actual_start is not None
    machine.refresh_from_db()
    operation.batch.refresh_from_db()
    assert (machine.status, operation.batch.status) == (M.RUNNING, B.IN_PROGRESS)
    assert [e.actor_label for e in audit_events(tenant, verb="operation.started")] == [
        "api-key:mes"
    ]


def test_start_on_the_planned_machine_without_a_body(api, tenant):
    operation, machine = first_pending(tenant)
    operation.machine = machine
    operation.save(update_fields=["machine"])

    response = api.post(url(operation, "start"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["machine"]) == ("running", machine.id)


def test_start_without_any_machine_is_refused(api, tenant):
    operation, _ = first_pending(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "start"), {"machine_id": None}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Choose a machine for this operation.",
        "extra": {"fields": {"machine": ["Required."]}},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
def test_start_on_an_unknown_or_foreign_machine_is_not_found(api, tenant, other_tenant, whose):
    operation, _ = first_pending(tenant)
    foreign = machine_for(SiteFactory(tenant=other_tenant))
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(
        url(operation, "start"),
        {"machine_id": foreign.id if whose == "other-tenant" else 987654321},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"message": "Machine not found.", "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


def test_start_on_a_machine_of_another_site_is_refused(api, tenant):
    operation, _ = first_pending(tenant, lot_code="L-1")
    elsewhere = machine_for(SiteFactory(tenant=tenant), name="Far away")
    before = snapshot(tenant)

    response = api.post(url(operation, "start"), {"machine_id": elsewhere.id}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Machine Far away is at another site than batch L-1.",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_start_on_a_busy_machine_is_a_conflict(api, tenant):
    operation, machine = first_pending(tenant)
    Machine.objects.for_tenant(tenant).filter(pk=machine.pk).update(status=M.DOWN)
    before = snapshot(tenant)

    response = api.post(url(operation, "start"), {"machine_id": machine.id}, format="json")

    assert response.status_code == 409
    assert response.json() == {"message": f"Machine {machine.name} is down.", "extra": {}}
    assert snapshot(tenant) == before


def test_start_out_of_sequence_is_a_conflict(api, tenant):
    operation, machine = first_pending(tenant, lot_code="L-2")
    second = operation.batch.operations.get(sequence=20)
    before = snapshot(tenant)

    response = api.post(url(second, "start"), {"machine_id": machine.id}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "message": "Finish the earlier operations of batch L-2 first.",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_start_a_running_operation_is_a_conflict(api, tenant):
    operation = running(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "start"))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Operation {operation.name} is running; only pending operations start.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"machine_id": "printer"}, {"machine_id": ["A valid integer is required."]}),
        ({"machine_id": 0}, {"machine_id": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"machine_id": 10**25},
            {"machine_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
    ],
    ids=["wrong-type", "zero", "huge"],
)
def test_start_refuses_bad_input(api, tenant, body, fields):
    operation, _ = first_pending(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "start"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


# --- pause and resume ------------------------------------------------------------------------
def test_pause_frees_the_machine(api, tenant):
    operation = running(tenant)

    response = api.post(url(operation, "pause"), {"reason": "Filament jam"}, format="json")

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    assert operation.status == O.PAUSED
    assert operation.machine.status == M.AVAILABLE
    [event] = audit_events(tenant, verb="operation.paused")
    assert event.message == "Filament jam"


def test_pause_a_pending_operation_is_a_conflict(api, tenant):
    operation, _ = first_pending(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "pause"))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Cannot move operation {operation} to paused: it is pending.",
        "extra": {"status": "pending", "allowed_from": ["running"]},
    }
    assert snapshot(tenant) == before


def test_resume_a_paused_operation(api, tenant):
    operation = paused(tenant)

    response = api.post(url(operation, "resume"))

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    assert operation.status == O.RUNNING
    assert operation.machine.status == M.RUNNING


def test_resume_on_a_broken_machine_is_a_conflict(api, tenant):
    operation = paused(tenant)
    Machine.objects.for_tenant(tenant).filter(pk=operation.machine_id).update(status=M.MAINTENANCE)
    before = snapshot(tenant)

    response = api.post(url(operation, "resume"))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Machine {operation.machine.name} is maintenance.",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_resume_a_running_operation_is_a_conflict(api, tenant):
    operation = running(tenant)
    Machine.objects.for_tenant(tenant).filter(pk=operation.machine_id).update(status=M.AVAILABLE)
    before = snapshot(tenant)

    response = api.post(url(operation, "resume"))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Cannot move operation {operation} to running: it is running.",
        "extra": {"status": "running", "allowed_from": ["paused"]},
    }
    assert snapshot(tenant) == before


# --- finish ----------------------------------------------------------------------------------
def test_finish_the_last_operation_submits_the_batch_for_its_check(api, tenant):
    operation = running(tenant, quantity=10)

    response = api.post(
        url(operation, "finish"), {"quantity_good": 8, "quantity_scrap": 2}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    assert (operation.status, operation.quantity_good, operation.quantity_scrap) == (O.DONE, 8, 2)
    batch = operation.batch
    batch.refresh_from_db()
    assert (batch.status, batch.quantity_good, batch.quantity_scrap) == (B.QUALITY_CHECK, 8, 2)
    operation.machine.refresh_from_db()
    assert operation.machine.status == M.AVAILABLE


def test_finish_without_scrap(api, tenant):
    operation = running(tenant, quantity=10)

    response = api.post(url(operation, "finish"), {"quantity_good": 10}, format="json")

    assert response.status_code == 200
    assert (response.json()["quantity_good"], response.json()["quantity_scrap"]) == (10, 0)


def test_finish_more_than_arrived_is_refused(api, tenant):
    operation = running(tenant, quantity=10)
    before = snapshot(tenant)

    response = api.post(
        url(operation, "finish"), {"quantity_good": 10, "quantity_scrap": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Only 10 unit(s) reached this operation; good + scrap (11) cannot be more.",
        "extra": {"fields": {"quantity_good": ["At most 10 with the scrap."]}},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"quantity_good": ["This field is required."]}),
        (
            {"quantity_good": -1, "quantity_scrap": -2},
            {
                "quantity_good": ["Ensure this value is greater than or equal to 0."],
                "quantity_scrap": ["Ensure this value is greater than or equal to 0."],
            },
        ),
        ({"quantity_good": "8 pcs"}, {"quantity_good": ["A valid integer is required."]}),
        ({"quantity_good": 1.5}, {"quantity_good": ["A valid integer is required."]}),
        (
            {"quantity_good": 10**30},
            {"quantity_good": ["Ensure this value is less than or equal to 2147483647."]},
        ),
    ],
    ids=["missing", "negative", "wrong-type", "fraction", "huge"],
)
def test_finish_refuses_bad_input(api, tenant, body, fields):
    operation = running(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "finish"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant) == before


def test_finish_a_pending_operation_is_a_conflict(api, tenant):
    operation, _ = first_pending(tenant)
    before = snapshot(tenant)

    response = api.post(url(operation, "finish"), {"quantity_good": 1}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Operation {operation.name} is pending; only a running operation can finish.",
        "extra": {},
    }
    assert snapshot(tenant) == before


# --- who may do what -------------------------------------------------------------------------
def _ready_for(tenant, action):
    """An operation in which `action` is legal, and its body."""
    if action == "start":
        operation, machine = first_pending(tenant)
        return operation, {"machine_id": machine.id}
    if action == "resume":
        return paused(tenant), None
    if action == "finish":
        return running(tenant), {"quantity_good": 10}
    return running(tenant), {"reason": "Lunch"}


ACTIONS = ["start", "pause", "resume", "finish"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_read_only_key_cannot_act(system, tenant, action):
    operation, body = _ready_for(tenant, action)
    client = key_client(system, read_only=True)
    before = snapshot(tenant)

    response = client.post(url(operation, action), body, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_cannot_act(tenant, action):
    operation, body = _ready_for(tenant, action)
    client = member_client(tenant, Membership.Role.VIEWER)
    before = snapshot(tenant)

    response = client.post(url(operation, action), body, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role (viewer) does not allow this action (operations.run).",
        "extra": {},
    }
    assert snapshot(tenant) == before
    assert client.get(detail(operation.id)).status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
def test_an_operator_runs_operations_with_their_session(tenant, action):
    operation, body = _ready_for(tenant, action)
    client = member_client(tenant, Membership.Role.OPERATOR)

    response = client.post(url(operation, action), body, format="json")

    assert response.status_code == 200
    assert response.json() == as_json(operation)
    [event] = audit_events(tenant, target=operation)
    assert event.actor_user is not None


@pytest.mark.parametrize("action", [None, *ACTIONS])
def test_another_tenants_operation_is_not_found(api, tenant, other_tenant, action):
    operation, body = _ready_for(other_tenant, action or "start")
    before = snapshot(other_tenant), snapshot(tenant)

    if action is None:
        response = api.get(detail(operation.id))
    else:
        response = api.post(url(operation, action), body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Operation not found.", "extra": {}}
    assert (snapshot(other_tenant), snapshot(tenant)) == before
    assert ids(api.get(LIST)) == []
