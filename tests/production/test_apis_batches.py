"""/api/v1/batches/: list, retrieve, create (made to stock) and the status actions."""

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
    BatchFactory,
    MembershipFactory,
    ProductFactory,
    QualityCheckFactory,
    SiteFactory,
    audit_events,
    batch_with_operations,
    machine_for,
    order_with_lines,
    product_with_routing,
)

LIST = "/api/v1/batches/"
B = Batch.Status
O = BatchOperation.Status  # noqa: E741


def detail(pk):
    return f"/api/v1/batches/{pk}/"


def url(batch, action):
    return f"/api/v1/batches/{batch.id}/{action}/"


def iso(value):
    return None if value is None else DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="erp", read_only=read_only)
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


def as_json(batch):
    batch.refresh_from_db()
    return {
        "id": batch.id,
        "created_at": iso(batch.created_at),
        "updated_at": iso(batch.updated_at),
        "order": batch.order_line.order_id if batch.order_line_id else None,
        "lot_code": batch.lot_code,
        "product": batch.product_id,
        "design_revision": batch.design_revision,
        "site": batch.site_id,
        "order_line": batch.order_line_id,
        "status": batch.status,
        "quantity_planned": batch.quantity_planned,
        "quantity_good": batch.quantity_good,
        "quantity_scrap": batch.quantity_scrap,
        "release_at": iso(batch.release_at),
        "started_at": iso(batch.started_at),
        "completed_at": iso(batch.completed_at),
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


def conflict(lot, to, now, allowed):
    return {
        "message": f"Cannot move batch {lot} to {to}: it is {now}.",
        "extra": {"status": now.replace(" ", "_"), "allowed_from": allowed},
    }


# --- create ----------------------------------------------------------------------------------
def test_create_a_batch_made_to_stock(api, tenant):
    product = product_with_routing(tenant, [("fdm-print", "12"), ("post-process", "3")])
    site = SiteFactory(tenant=tenant)
    release_at = timezone.now() + timedelta(days=1)

    response = api.post(
        LIST,
        {
            "product_id": product.id,
            "site_id": site.id,
            "quantity": 12,
            "lot_code": "STOCK-1",
            "release_at": release_at.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201
    batch = Batch.objects.for_tenant(tenant).get()
    assert response.json() == as_json(batch)
    assert (batch.lot_code, batch.quantity_planned, batch.status, batch.release_at) == (
        "STOCK-1",
        12,
        B.PLANNED,
        release_at,
    )
    assert (response.json()["order"], response.json()["order_line"]) == (None, None)
    assert list(batch.operations.order_by("sequence").values_list("sequence", "capability")) == [
        (10, "fdm-print"),
        (20, "post-process"),
    ]
    [event] = audit_events(tenant, verb="batch.created")
    assert (event.target_id, event.actor_label) == (batch.id, "api-key:erp")


def test_create_numbers_the_lot_when_left_out(api, tenant):
    response = api.post(
        LIST,
        {
            "product_id": product_with_routing(tenant).id,
            "site_id": SiteFactory(tenant=tenant).id,
            "quantity": 1,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["lot_code"] == f"L{timezone.now():%y%m%d}-0001"
    assert response.json()["release_at"] is None


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"quantity": 0}, {"quantity": ["Ensure this value is greater than or equal to 1."]}),
        ({"quantity": -5}, {"quantity": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"quantity": 10**15},
            {"quantity": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        ({"quantity": "ten"}, {"quantity": ["A valid integer is required."]}),
        ({"product_id": None}, {"product_id": ["This field may not be null."]}),
        (
            {"site_id": 2**64},
            {"site_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        (
            {"release_at": "tomorrow"},
            {
                "release_at": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
        (
            {"lot_code": "L" * 41},
            {"lot_code": ["Ensure this field has no more than 40 characters."]},
        ),
    ],
    ids=["zero", "negative", "huge", "wrong-type", "null", "huge-id", "bad-time", "long-lot"],
)
def test_create_refuses_bad_input(api, tenant, change, fields):
    body = {
        "product_id": product_with_routing(tenant).id,
        "site_id": SiteFactory(tenant=tenant).id,
        "quantity": 3,
        **change,
    }

    response = api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert snapshot(tenant)[0] == []


def test_create_refuses_missing_fields(api, tenant):
    response = api.post(LIST, {}, format="json")

    required = ["This field is required."]
    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"product_id": required, "site_id": required, "quantity": required}},
    }


def test_create_a_product_without_routing_is_refused(api, tenant):
    product = ProductFactory(tenant=tenant, sku="NOROUTE")

    response = api.post(
        LIST,
        {"product_id": product.id, "site_id": SiteFactory(tenant=tenant).id, "quantity": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Product NOROUTE has no routing steps; add how it is made before planning it.",
        "extra": {},
    }
    assert snapshot(tenant)[0] == []


def test_create_refuses_a_duplicate_lot_code(api, tenant):
    BatchFactory(tenant=tenant, lot_code="LOT-1")
    before = snapshot(tenant)

    response = api.post(
        LIST,
        {
            "product_id": product_with_routing(tenant).id,
            "site_id": SiteFactory(tenant=tenant).id,
            "quantity": 1,
            "lot_code": "LOT-1",
        },
        format="json",
    )

    message = "A batch with this lot code exists already."
    assert response.status_code == 400
    assert response.json() == {
        "message": f"lot_code: {message}",
        "extra": {"fields": {"lot_code": [message]}},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize("whose", ["missing", "other-tenant"])
@pytest.mark.parametrize(
    ("field", "message"), [("product_id", "Product not found."), ("site_id", "Site not found.")]
)
def test_create_with_an_unknown_or_foreign_id_is_not_found(
    api, tenant, other_tenant, whose, field, message
):
    body = {
        "product_id": product_with_routing(tenant).id,
        "site_id": SiteFactory(tenant=tenant).id,
        "quantity": 2,
    }
    theirs = {
        "product_id": product_with_routing(other_tenant).id,
        "site_id": SiteFactory(tenant=other_tenant).id,
    }
    body[field] = theirs[field] if whose == "other-tenant" else 987654321
    before = snapshot(tenant), snapshot(other_tenant)

    response = api.post(LIST, body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": message, "extra": {}}
    assert (snapshot(tenant), snapshot(other_tenant)) == before


def test_batches_cannot_be_changed_or_deleted(api, tenant):
    batch = BatchFactory(tenant=tenant)
    before = snapshot(tenant)

    patched = api.patch(detail(batch.id), {"quantity_planned": 1}, format="json")
    deleted = api.delete(detail(batch.id))

    assert (patched.status_code, deleted.status_code) == (405, 405)
    assert deleted.json() == {"message": 'Method "DELETE" not allowed.', "extra": {}}
    assert snapshot(tenant) == before


# --- list and retrieve -----------------------------------------------------------------------
def test_list_and_filter_batches(api, tenant, other_tenant):
    site, other_site = SiteFactory(tenant=tenant), SiteFactory(tenant=tenant)
    product = product_with_routing(tenant)
    order = order_with_lines(tenant, [(product, 3)], site=site)
    line = order.lines.get()
    for_order = BatchFactory(tenant=tenant, product=product, site=site, order_line=line)
    stock = BatchFactory(tenant=tenant, site=site, status=B.IN_PROGRESS, lot_code="A-1")
    elsewhere = BatchFactory(tenant=tenant, site=other_site, product=product, lot_code="Z-1")
    later = timezone.now() + timedelta(hours=1)
    Batch.objects.for_tenant(tenant).filter(pk=elsewhere.pk).update(updated_at=later)
    BatchFactory(tenant=other_tenant)

    def get(**params):
        return ids(api.get(LIST, params))

    assert get() == [elsewhere.id, stock.id, for_order.id]
    assert get(status="in_progress") == [stock.id]
    assert get(site=site.id) == [stock.id, for_order.id]
    assert get(product=product.id) == [elsewhere.id, for_order.id]
    assert get(order=order.id) == [for_order.id]
    assert get(updated_since=(later - timedelta(minutes=1)).isoformat()) == [elsewhere.id]
    assert get(ordering="lot_code") == [stock.id, for_order.id, elsewhere.id]
    assert get(status="planned", site=site.id) == [for_order.id]
    response = api.get(LIST, {"order": order.id})
    assert response.json()["results"] == [as_json(for_order)]
    assert response.json()["results"][0]["order"] == order.id


def test_list_refuses_bad_filters(api, tenant):
    response = api.get(LIST, {"status": "done", "order": "x"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "status": ["Select a valid choice. done is not one of the available choices."],
                "order": ["Enter a whole number."],
            }
        },
    }


def test_list_runs_the_same_queries_for_3_and_30_batches(api, tenant, django_assert_num_queries):
    # the api key, the count and the page (order lines joined for the order id)
    api.get(LIST)
    product = product_with_routing(tenant)
    order = order_with_lines(tenant, [(product, 3)])
    line = order.lines.get()

    def make(n):
        for i in range(n):
            BatchFactory(tenant=tenant, product=product, order_line=line if i % 2 else None)

    make(3)
    with django_assert_num_queries(3):
        assert len(api.get(LIST).json()["results"]) == 3
    make(27)
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 30})
    assert len(response.json()["results"]) == 30
    assert {row["order"] for row in response.json()["results"]} == {None, order.id}


def test_retrieve_a_batch(api, tenant):
    batch = BatchFactory(tenant=tenant, release_at=timezone.now())

    response = api.get(detail(batch.id))

    assert response.status_code == 200
    assert response.json() == as_json(batch)


def test_retrieve_a_missing_batch(api, tenant):
    response = api.get(detail(987654321))

    assert response.status_code == 404
    assert response.json() == {"message": "Batch not found.", "extra": {}}


# --- actions ---------------------------------------------------------------------------------
def _planned_with_machines(tenant, **fields):
    batch = batch_with_operations(tenant, **fields)
    batch.operations.update(machine=machine_for(batch.site))
    return batch


def test_schedule_a_planned_batch_with_machines(api, tenant):
    batch = _planned_with_machines(tenant)

    response = api.post(url(batch, "schedule"))

    assert response.status_code == 200
    assert response.json() == as_json(batch)
    assert batch.status == B.SCHEDULED


def test_schedule_without_machines_is_a_conflict(api, tenant):
    batch = batch_with_operations(tenant, lot_code="L-1")
    before = snapshot(tenant)

    response = api.post(url(batch, "schedule"))

    assert response.status_code == 409
    assert response.json() == {
        "message": "Batch L-1 has 2 operation(s) without a machine yet.",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_schedule_a_started_batch_is_a_conflict(api, tenant):
    batch = _planned_with_machines(tenant, lot_code="L-2", status=B.IN_PROGRESS)
    before = snapshot(tenant)

    response = api.post(url(batch, "schedule"))

    assert response.status_code == 409
    assert response.json() == conflict("L-2", "scheduled", "in progress", ["planned"])
    assert snapshot(tenant) == before


@pytest.mark.parametrize("status", [B.PLANNED, B.SCHEDULED])
def test_start_a_batch(api, tenant, status):
    batch = batch_with_operations(tenant, status=status)

    response = api.post(url(batch, "start"))

    assert response.status_code == 200
    assert response.json() == as_json(batch)
    assert batch.status == B.IN_PROGRESS
    assert batch.started_at is not None


def test_start_a_batch_of_an_order_puts_the_order_in_production(api, tenant):
    product = product_with_routing(tenant)
    order = order_with_lines(tenant, [(product, 2)], status="confirmed")
    batch = batch_with_operations(tenant, product=product, order_line=order.lines.get())

    response = api.post(url(batch, "start"))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "in_production"


def test_start_before_release_is_a_conflict(api, tenant):
    release_at = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    batch = batch_with_operations(tenant, lot_code="L-3", release_at=release_at)
    before = snapshot(tenant)

    response = api.post(url(batch, "start"))

    assert response.status_code == 409
    assert response.json() == {
        "message": f"Batch L-3 is not released before {release_at:%Y-%m-%d %H:%M} UTC.",
        "extra": {},
    }
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("status", "now"),
    [(B.IN_PROGRESS, "in progress"), (B.COMPLETED, "completed"), (B.CANCELLED, "cancelled")],
)
def test_start_a_started_or_closed_batch_is_a_conflict(api, tenant, status, now):
    batch = batch_with_operations(tenant, lot_code="L-4", status=status)
    before = snapshot(tenant)

    response = api.post(url(batch, "start"))

    assert response.status_code == 409
    assert response.json() == conflict("L-4", "in progress", now, ["planned", "scheduled"])
    assert snapshot(tenant) == before


def test_submit_for_quality_check_once_every_operation_is_done(api, tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    batch.operations.update(status=O.DONE, quantity_good=9)

    response = api.post(url(batch, "submit-for-quality-check"))

    assert response.status_code == 200
    assert response.json() == as_json(batch)
    assert (batch.status, batch.quantity_good) == (B.QUALITY_CHECK, 9)


def test_submit_with_unfinished_operations_is_a_conflict(api, tenant):
    batch = batch_with_operations(tenant, lot_code="L-5", status=B.IN_PROGRESS)
    before = snapshot(tenant)

    response = api.post(url(batch, "submit-for-quality-check"))

    assert response.status_code == 409
    assert response.json() == {
        "message": "Batch L-5 still has 2 unfinished operation(s).",
        "extra": {},
    }
    assert snapshot(tenant) == before


def test_submit_a_planned_batch_is_a_conflict(api, tenant):
    batch = batch_with_operations(tenant, lot_code="L-6")
    before = snapshot(tenant)

    response = api.post(url(batch, "submit-for-quality-check"))

    assert response.status_code == 409
    assert response.json() == conflict("L-6", "quality check", "planned", ["in_progress"])
    assert snapshot(tenant) == before


def test_complete_a_batch_whose_checks_passed(api, tenant):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)
    QualityCheckFactory(tenant=tenant, batch=batch, measured=Decimal("5.05"))

    response = api.post(url(batch, "complete"))

    assert response.status_code == 200
    assert response.json() == as_json(batch)
    assert batch.status == B.COMPLETED
    assert batch.completed_at is not None


def test_complete_a_batch_with_a_failed_check_is_a_conflict(api, tenant):
    batch = batch_with_operations(tenant, lot_code="L-7", status=B.QUALITY_CHECK)
    QualityCheckFactory(tenant=tenant, batch=batch, characteristic="width", measured=Decimal("7"))
    before = snapshot(tenant)

    response = api.post(url(batch, "complete"))

    assert response.status_code == 409
    assert response.json() == {
        "message": "Batch L-7 failed its check of width; record a passing re-check (after "
        "rework) or cancel the batch.",
        "extra": {"failing": ["width"]},
    }
    assert snapshot(tenant) == before


def test_complete_an_unchecked_batch_is_a_conflict(api, tenant):
    batch = batch_with_operations(tenant, lot_code="L-8", status=B.IN_PROGRESS)
    before = snapshot(tenant)

    response = api.post(url(batch, "complete"))

    assert response.status_code == 409
    assert response.json() == conflict("L-8", "completed", "in progress", ["quality_check"])
    assert snapshot(tenant) == before


def test_cancel_a_batch_with_a_reason(api, tenant):
    batch = batch_with_operations(tenant, status=B.SCHEDULED)

    response = api.post(url(batch, "cancel"), {"reason": "Material recalled"}, format="json")

    assert response.status_code == 200
    assert response.json() == as_json(batch)
    assert batch.status == B.CANCELLED
    assert set(batch.operations.values_list("status", flat=True)) == {O.CANCELLED}
    [event] = audit_events(tenant, verb="batch.cancelled")
    assert event.message == "Material recalled"


@pytest.mark.parametrize(
    ("status", "now"), [(B.COMPLETED, "completed"), (B.CANCELLED, "cancelled")]
)
def test_cancel_a_closed_batch_is_a_conflict(api, tenant, status, now):
    batch = batch_with_operations(tenant, lot_code="L-9", status=status)
    before = snapshot(tenant)

    response = api.post(url(batch, "cancel"))

    assert response.status_code == 409
    assert response.json() == conflict(
        "L-9", "cancelled", now, ["in_progress", "planned", "quality_check", "scheduled"]
    )
    assert snapshot(tenant) == before


def test_cancel_refuses_a_bad_reason(api, tenant):
    batch = batch_with_operations(tenant)
    before = snapshot(tenant)

    response = api.post(url(batch, "cancel"), {"reason": {"why": "x"}}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"reason": ["Not a valid string."]}},
    }
    assert snapshot(tenant) == before


# --- who may do what -------------------------------------------------------------------------
def _ready_for(tenant, action):
    """A batch in which `action` is legal."""
    if action == "schedule":
        return _planned_with_machines(tenant)
    if action == "submit-for-quality-check":
        batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
        batch.operations.update(status=O.DONE, quantity_good=10)
        return batch
    if action == "complete":
        return batch_with_operations(tenant, status=B.QUALITY_CHECK)
    return batch_with_operations(tenant)


ACTIONS = ["schedule", "start", "submit-for-quality-check", "complete", "cancel"]
BATCHES_MANAGE = {"schedule", "cancel"}  # the others are shop-floor work (operators too)


def _create_body(tenant):
    return {
        "product_id": product_with_routing(tenant).id,
        "site_id": SiteFactory(tenant=tenant).id,
        "quantity": 2,
    }


@pytest.mark.parametrize("action", ACTIONS)
def test_a_read_only_key_cannot_act(system, tenant, action):
    batch = _ready_for(tenant, action)
    client = key_client(system, read_only=True)
    before = snapshot(tenant)

    response = client.post(url(batch, action))

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant) == before


def test_a_read_only_key_cannot_create(system, tenant):
    client = key_client(system, read_only=True)
    body = _create_body(tenant)

    response = client.post(LIST, body, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert snapshot(tenant)[0] == []


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_cannot_act(tenant, action):
    batch = _ready_for(tenant, action)
    client = member_client(tenant, Membership.Role.VIEWER)
    before = snapshot(tenant)

    response = client.post(url(batch, action))

    assert response.status_code == 403
    assert response.json()["message"].startswith("Your role (viewer) does not allow this action")
    assert snapshot(tenant) == before
    assert client.get(detail(batch.id)).json() == as_json(batch)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_operator_runs_but_does_not_plan(tenant, action):
    batch = _ready_for(tenant, action)
    client = member_client(tenant, Membership.Role.OPERATOR)
    before = snapshot(tenant)

    response = client.post(url(batch, action))

    if action in BATCHES_MANAGE:
        assert response.status_code == 403
        assert response.json() == {
            "message": "Your role (operator) does not allow this action (batches.manage).",
            "extra": {},
        }
        assert snapshot(tenant) == before
    else:
        assert response.status_code == 200
        assert response.json() == as_json(batch)


@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.OPERATOR])
def test_viewers_and_operators_cannot_create(tenant, role):
    client = member_client(tenant, role)

    response = client.post(LIST, _create_body(tenant), format="json")

    assert response.status_code == 403
    assert response.json() == {
        "message": f"Your role ({role}) does not allow this action (batches.manage).",
        "extra": {},
    }
    assert snapshot(tenant)[0] == []


def test_a_manager_creates_with_their_session(tenant):
    client = member_client(tenant, Membership.Role.MANAGER)

    response = client.post(LIST, _create_body(tenant), format="json")

    assert response.status_code == 201
    assert ids(client.get(LIST)) == [response.json()["id"]]


@pytest.mark.parametrize("action", [None, *ACTIONS])
def test_another_tenants_batch_is_not_found(api, tenant, other_tenant, action):
    foreign = _ready_for(other_tenant, action)
    before = snapshot(other_tenant), snapshot(tenant)

    response = api.get(detail(foreign.id)) if action is None else api.post(url(foreign, action))

    assert response.status_code == 404
    assert response.json() == {"message": "Batch not found.", "extra": {}}
    assert (snapshot(other_tenant), snapshot(tenant)) == before
    assert ids(api.get(LIST)) == []
