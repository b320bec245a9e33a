"""Another tenant's rows look exactly like missing ones, and nothing of theirs ever changes."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from mfapp.catalog.models import Material, Product
from mfapp.catalog.services import (
    bom_line_create,
    material_adjust_stock,
    material_create,
    product_create,
    product_update,
    routing_step_create,
)
from mfapp.core.exceptions import ApplicationError, NotFound
from mfapp.core.models import TenantScopedModel
from mfapp.core.transitions import ensure_same_tenant
from mfapp.machines.models import Machine
from mfapp.machines.services import (
    machine_change_status,
    machine_create,
    maintenance_window_create,
)
from mfapp.orders.models import Customer, Order
from mfapp.orders.services import (
    customer_create,
    order_cancel,
    order_confirm,
    order_create,
    order_line_add,
    order_ship,
)
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import (
    batch_cancel,
    batch_complete,
    batch_create,
    batch_schedule,
    batch_start,
    batch_submit_for_quality_check,
    material_consumption_record,
    operation_finish,
    operation_pause,
    operation_resume,
    operation_start,
    quality_check_record,
)
from mfapp.tenancy.selectors import actor_for_member, system_actor
from mfapp.tenancy.services import (
    api_key_revoke,
    invitation_revoke,
    membership_remove,
    membership_update_role,
)
from tests.factories import (
    ApiKeyFactory,
    BomLineFactory,
    CustomerFactory,
    InvitationFactory,
    MaterialFactory,
    MembershipFactory,
    OrderFactory,
    SiteFactory,
    batch_with_operations,
    machine_for,
    order_with_lines,
    product_with_routing,
)

SCOPED_MODELS = [
    m for m in apps.get_models() if issubclass(m, TenantScopedModel) and not m._meta.abstract
]
DUE = timezone.localdate() + timedelta(days=10)


def _snapshot(*tenants) -> dict[str, tuple[int, ...]]:
    """Row counts of every tenant-owned model, per tenant."""
    return {
        model._meta.label: tuple(model.objects.for_tenant(t).count() for t in tenants)
        for model in SCOPED_MODELS
    }


def _row(obj) -> dict[str, Any]:
    return type(obj)._base_manager.filter(pk=obj.pk).values().get()


class World:
    """One tenant's everyday objects: a site with a printer, a routed product, stock."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.actor = system_actor(tenant=tenant)
        self.site = SiteFactory(tenant=tenant)
        self.customer = CustomerFactory(tenant=tenant)
        self.product = product_with_routing(tenant)
        self.material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("50"))
        self.machine = machine_for(self.site)
        self.draft_order = OrderFactory(tenant=tenant, site=self.site, customer=self.customer)
        self.batch = batch_with_operations(tenant, ["fdm-print"], site=self.site)
        self.operation = self.batch.operations.get()
        self.running_batch = batch_with_operations(
            tenant, ["fdm-print"], site=self.site, status=Batch.Status.IN_PROGRESS
        )


@pytest.fixture
def mine(tenant):
    return World(tenant)


@pytest.fixture
def theirs(other_tenant):
    return World(other_tenant)


# --- a foreign id is answered like a missing id ----------------------------------------------
# Each case: (message, the foreign object whose id is passed, call(mine, id)).
ID_CASES: dict[str, tuple[str, Callable, Callable]] = {
    "order_create.customer_id": (
        "Customer not found.",
        lambda w: w.customer,
        lambda m, id_: order_create(
            actor=m.actor,
            customer_id=id_,
            site_id=m.site.pk,
            due_date=DUE,
            lines=[{"product_id": m.product.pk, "quantity": 1}],
        ),
    ),
    "order_create.site_id": (
        "Site not found.",
        lambda w: w.site,
        lambda m, id_: order_create(
            actor=m.actor,
            customer_id=m.customer.pk,
            site_id=id_,
            due_date=DUE,
            lines=[{"product_id": m.product.pk, "quantity": 1}],
        ),
    ),
    "order_create.lines.product_id": (
        "Product not found.",
        lambda w: w.product,
        lambda m, id_: order_create(
            actor=m.actor,
            customer_id=m.customer.pk,
            site_id=m.site.pk,
            due_date=DUE,
            lines=[{"product_id": m.product.pk, "quantity": 1}, {"product_id": id_, "quantity": 2}],
        ),
    ),
    "order_line_add.product_id": (
        "Product not found.",
        lambda w: w.product,
        lambda m, id_: order_line_add(
            actor=m.actor, order=m.draft_order, product_id=id_, quantity=1
        ),
    ),
    "bom_line_create.material_id": (
        "Material not found.",
        lambda w: w.material,
        lambda m, id_: bom_line_create(
            actor=m.actor, product=m.product, material_id=id_, quantity_per_unit=Decimal(1)
        ),
    ),
    "routing_step_create.material_id": (
        "Material not found.",
        lambda w: w.material,
        lambda m, id_: routing_step_create(
            actor=m.actor,
            product=m.product,
            name="Print",
            capability="fdm-print",
            run_minutes_per_unit=Decimal(1),
            material_id=id_,
        ),
    ),
    "machine_create.site_id": (
        "Site not found.",
        lambda w: w.site,
        lambda m, id_: machine_create(
            actor=m.actor,
            site_id=id_,
            name="New",
            kind="fdm-printer",
            capabilities=["fdm-print"],
        ),
    ),
    "operation_start.machine_id": (
        "Machine not found.",
        lambda w: w.machine,
        lambda m, id_: operation_start(actor=m.actor, operation=m.operation, machine_id=id_),
    ),
    "material_consumption_record.material_id": (
        "Material not found.",
        lambda w: w.material,
        lambda m, id_: material_consumption_record(
            actor=m.actor, batch=m.running_batch, material_id=id_, quantity=Decimal(1)
        ),
    ),
    "batch_create.product_id": (
        "Product not found.",
        lambda w: w.product,
        lambda m, id_: batch_create(actor=m.actor, product_id=id_, site_id=m.site.pk, quantity=3),
    ),
    "batch_create.site_id": (
        "Site not found.",
        lambda w: w.site,
        lambda m, id_: batch_create(
            actor=m.actor, product_id=m.product.pk, site_id=id_, quantity=3
        ),
    ),
}


@pytest.mark.parametrize(("message", "foreign", "call"), ID_CASES.values(), ids=ID_CASES.keys())
def test_a_foreign_id_is_refused_exactly_like_a_missing_id(mine, theirs, message, foreign, call):
    foreign_obj = foreign(theirs)
    row = _row(foreign_obj)
    before = _snapshot(mine.tenant, theirs.tenant)

    with pytest.raises(NotFound) as missing:
        call(mine, -1)
    with pytest.raises(NotFound) as other_tenants:
        call(mine, foreign_obj.pk)

    assert (missing.type, missing.value.message, missing.value.extra) == (NotFound, message, {})
    assert (other_tenants.type, other_tenants.value.message, other_tenants.value.extra) == (
        missing.type,
        missing.value.message,
        missing.value.extra,
    )
    assert _snapshot(mine.tenant, theirs.tenant) == before
    assert _row(foreign_obj) == row


def test_the_same_calls_succeed_with_own_ids(mine):
    # The cases above fail only because of the id: with the tenant's own ids they go through.
    order_create(
        actor=mine.actor,
        customer_id=mine.customer.pk,
        site_id=mine.site.pk,
        due_date=DUE,
        lines=[{"product_id": mine.product.pk, "quantity": 1}],
    )
    bom_line_create(
        actor=mine.actor,
        product=mine.product,
        material_id=mine.material.pk,
        quantity_per_unit=Decimal(1),
    )
    routing_step_create(
        actor=mine.actor,
        product=mine.product,
        name="Print",
        capability="fdm-print",
        run_minutes_per_unit=Decimal(1),
        material_id=mine.material.pk,
    )
    machine_create(
        actor=mine.actor,
        site_id=mine.site.pk,
        name="New",
        kind="fdm-printer",
        capabilities=["fdm-print"],
    )
    operation_start(actor=mine.actor, operation=mine.operation, machine_id=mine.machine.pk)
    material_consumption_record(
        actor=mine.actor,
        batch=mine.running_batch,
        material_id=mine.material.pk,
        quantity=Decimal(1),
    )
    batch_create(actor=mine.actor, product_id=mine.product.pk, site_id=mine.site.pk, quantity=3)


# --- a foreign object passed to a service is not found -----------------------------------------
def _draft_order(t):
    return order_with_lines(t, [(product_with_routing(t), 2)])


def _running_operation(t):
    batch = batch_with_operations(t, ["fdm-print"], status=Batch.Status.IN_PROGRESS)
    machine = machine_for(batch.site, status=Machine.Status.RUNNING)
    operation = batch.operations.get()
    operation.status, operation.machine = BatchOperation.Status.RUNNING, machine
    operation.save(update_fields=["status", "machine"])
    return operation


def _paused_operation(t):
    operation = _running_operation(t)
    operation.status = BatchOperation.Status.PAUSED
    operation.save(update_fields=["status"])
    Machine.objects.for_tenant(t).filter(pk=operation.machine_id).update(
        status=Machine.Status.AVAILABLE
    )
    return operation


def _scheduled_ready_batch(t):
    batch = batch_with_operations(t)
    batch.operations.update(machine=machine_for(batch.site))
    return batch


def _done_batch(t):
    batch = batch_with_operations(t, ["fdm-print"], status=Batch.Status.IN_PROGRESS)
    batch.operations.update(status=BatchOperation.Status.DONE, quantity_good=10)
    return batch


def _pending_operation_with_machine(t):
    batch = batch_with_operations(t, ["fdm-print"])
    operation = batch.operations.get()
    operation.machine = machine_for(batch.site)
    operation.save(update_fields=["machine"])
    return operation


S, B = Order.Status, Batch.Status
# Each case: (message, make the foreign object in tenant t, call(actor, my world, obj)).
INSTANCE_CASES: dict[str, tuple[str, Callable, Callable]] = {
    "order_confirm": (
        "Order not found.",
        _draft_order,
        lambda a, m, o: order_confirm(actor=a, order=o),
    ),
    "order_ship": (
        "Order not found.",
        lambda t: OrderFactory(tenant=t, status=S.READY),
        lambda a, m, o: order_ship(actor=a, order=o),
    ),
    "order_cancel": (
        "Order not found.",
        _draft_order,
        lambda a, m, o: order_cancel(actor=a, order=o),
    ),
    "order_line_add": (
        "Order not found.",
        _draft_order,
        lambda a, m, o: order_line_add(actor=a, order=o, product_id=m.product.pk, quantity=1),
    ),
    "batch_schedule": (
        "Batch not found.",
        _scheduled_ready_batch,
        lambda a, m, o: batch_schedule(actor=a, batch=o),
    ),
    "batch_start": (
        "Batch not found.",
        lambda t: batch_with_operations(t),
        lambda a, m, o: batch_start(actor=a, batch=o),
    ),
    "batch_submit_for_quality_check": (
        "Batch not found.",
        _done_batch,
        lambda a, m, o: batch_submit_for_quality_check(actor=a, batch=o),
    ),
    "batch_complete": (
        "Batch not found.",
        lambda t: batch_with_operations(t, status=B.QUALITY_CHECK),
        lambda a, m, o: batch_complete(actor=a, batch=o),
    ),
    "batch_cancel": (
        "Batch not found.",
        lambda t: batch_with_operations(t),
        lambda a, m, o: batch_cancel(actor=a, batch=o),
    ),
    "operation_start": (
        "Operation not found.",
        _pending_operation_with_machine,
        lambda a, m, o: operation_start(actor=a, operation=o),
    ),
    "operation_start.own_machine": (
        "Operation not found.",
        _pending_operation_with_machine,
        lambda a, m, o: operation_start(actor=a, operation=o, machine_id=m.machine.pk),
    ),
    "operation_pause": (
        "Operation not found.",
        _running_operation,
        lambda a, m, o: operation_pause(actor=a, operation=o),
    ),
    "operation_resume": (
        "Operation not found.",
        _paused_operation,
        lambda a, m, o: operation_resume(actor=a, operation=o),
    ),
    "operation_finish": (
        "Operation not found.",
        _running_operation,
        lambda a, m, o: operation_finish(actor=a, operation=o, quantity_good=1),
    ),
    "quality_check_record": (
        "Batch not found.",
        lambda t: batch_with_operations(t, status=B.IN_PROGRESS),
        lambda a, m, o: quality_check_record(
            actor=a,
            batch=o,
            characteristic="x",
            target=Decimal(1),
            tolerance=Decimal(1),
            measured=Decimal(1),
        ),
    ),
    "material_consumption_record": (
        "Batch not found.",
        lambda t: batch_with_operations(t, status=B.IN_PROGRESS),
        lambda a, m, o: material_consumption_record(
            actor=a, batch=o, material_id=m.material.pk, quantity=Decimal(1)
        ),
    ),
    "machine_change_status": (
        "Machine not found.",
        lambda t: machine_for(SiteFactory(tenant=t)),
        lambda a, m, o: machine_change_status(actor=a, machine=o, status="down", reason="x"),
    ),
    "maintenance_window_create": (
        "Machine not found.",
        lambda t: machine_for(SiteFactory(tenant=t)),
        lambda a, m, o: maintenance_window_create(
            actor=a,
            machine=o,
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(hours=1),
            reason="x",
        ),
    ),
    "material_adjust_stock": (
        "Material not found.",
        lambda t: MaterialFactory(tenant=t),
        lambda a, m, o: material_adjust_stock(actor=a, material=o, delta=Decimal(-1), reason="x"),
    ),
    "product_update": (
        "Product not found.",
        lambda t: product_with_routing(t),
        lambda a, m, o: product_update(actor=a, product=o, name="Hijacked"),
    ),
    "bom_line_create": (
        "Product not found.",
        lambda t: product_with_routing(t),
        lambda a, m, o: bom_line_create(
            actor=a, product=o, material_id=m.material.pk, quantity_per_unit=Decimal(1)
        ),
    ),
    "routing_step_create": (
        "Product not found.",
        lambda t: product_with_routing(t),
        lambda a, m, o: routing_step_create(
            actor=a, product=o, name="x", capability="fdm-print", run_minutes_per_unit=Decimal(1)
        ),
    ),
    "api_key_revoke": (
        "API key not found.",
        lambda t: ApiKeyFactory(tenant=t),
        lambda a, m, o: api_key_revoke(actor=a, api_key=o),
    ),
    "invitation_revoke": (
        "Invitation not found.",
        lambda t: InvitationFactory(tenant=t),
        lambda a, m, o: invitation_revoke(actor=a, invitation=o),
    ),
    "membership_update_role": (
        "Membership not found.",
        lambda t: MembershipFactory(tenant=t, role="viewer"),
        lambda a, m, o: membership_update_role(actor=a, membership=o, role="owner"),
    ),
    "membership_remove": (
        "Membership not found.",
        lambda t: MembershipFactory(tenant=t, role="viewer"),
        lambda a, m, o: membership_remove(actor=a, membership=o),
    ),
}


def _case_values(cases):
    return [c if hasattr(c, "marks") else pytest.param(*c) for c in cases.values()]


# The positive control: every case whose call makes sense for the owner.
OWN_CASES = {
    name: case.values if hasattr(case, "marks") else case
    for name, case in INSTANCE_CASES.items()
    if name != "operation_start.own_machine"  # that machine is at another site than the batch
}


@pytest.mark.parametrize(
    ("message", "make", "call"), _case_values(INSTANCE_CASES), ids=INSTANCE_CASES.keys()
)
def test_another_tenants_object_is_not_found(mine, other_tenant, message, make, call):
    foreign = make(other_tenant)
    row = _row(foreign)
    before = _snapshot(mine.tenant, other_tenant)

    with pytest.raises(NotFound) as exc_info:
        call(mine.actor, mine, foreign)

    assert exc_info.type is NotFound
    if message is not None:
        assert (exc_info.value.message, exc_info.value.extra) == (message, {})
    assert _snapshot(mine.tenant, other_tenant) == before
    assert _row(foreign) == row


@pytest.mark.parametrize(("message", "make", "call"), OWN_CASES.values(), ids=OWN_CASES.keys())
def test_the_same_objects_are_accepted_in_their_own_tenant(mine, other_tenant, message, make, call):
    # Proves the refusals above are about the tenant, not about the object's state.
    owner = World(other_tenant)
    foreign = make(other_tenant)

    call(owner.actor, owner, foreign)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: ApiKeyFactory(tenant=t), "API key not found."),
        (lambda t: BomLineFactory(tenant=t), "BOM line not found."),
    ],
    ids=["api-key", "bom-line"],
)
def test_ensure_same_tenant_names_the_model_properly(mine, other_tenant, make, message):
    with pytest.raises(NotFound) as exc_info:
        ensure_same_tenant(mine.actor, make(other_tenant))

    assert exc_info.value.message == message


# --- per-tenant uniqueness ---------------------------------------------------------------------
UNIQUE_CASES = {
    "product.sku": (
        Product,
        "sku",
        "A product with this SKU exists already.",
        lambda w, value: product_create(actor=w.actor, sku=value, name="Bracket"),
    ),
    "material.code": (
        Material,
        "code",
        "A material with this code exists already.",
        lambda w, value: material_create(actor=w.actor, code=value, name="PLA"),
    ),
    "order.number": (
        Order,
        "number",
        "An order with this number exists already.",
        lambda w, value: order_create(
            actor=w.actor,
            customer_id=w.customer.pk,
            site_id=w.site.pk,
            due_date=DUE,
            number=value,
        ),
    ),
    "order.external_ref": (
        Order,
        "external_ref",
        "An order with this external reference exists already.",
        lambda w, value: order_create(
            actor=w.actor,
            customer_id=w.customer.pk,
            site_id=w.site.pk,
            due_date=DUE,
            external_ref=value,
        ),
    ),
    "batch.lot_code": (
        Batch,
        "lot_code",
        "A batch with this lot code exists already.",
        lambda w, value: batch_create(
            actor=w.actor, product_id=w.product.pk, site_id=w.site.pk, quantity=1, lot_code=value
        ),
    ),
    "customer.external_ref": (
        Customer,
        "external_ref",
        "A customer with this external reference exists already.",
        lambda w, value: customer_create(
            actor=w.actor, name="Shop customer", country="DE", external_ref=value
        ),
    ),
}


@pytest.mark.parametrize(
    ("model", "field", "message", "create"), UNIQUE_CASES.values(), ids=UNIQUE_CASES.keys()
)
def test_unique_per_tenant(mine, theirs, model, field, message, create):
    first = create(mine, "SAME-1")
    second = create(theirs, "SAME-1")  # another tenant may use the same value
    before = _snapshot(mine.tenant, theirs.tenant)

    with pytest.raises(ApplicationError) as exc_info:
        create(mine, "SAME-1")

    assert exc_info.type is ApplicationError
    assert exc_info.value.message == f"{field}: {message}"
    assert exc_info.value.extra == {"fields": {field: [message]}}
    assert _snapshot(mine.tenant, theirs.tenant) == before
    assert model.objects.for_tenant(mine.tenant).filter(**{field: "SAME-1"}).get() == first
    assert model.objects.for_tenant(theirs.tenant).filter(**{field: "SAME-1"}).get() == second


def test_blank_external_refs_do_not_collide(mine):
    customer_create(actor=mine.actor, name="A", country="DE")
    customer_create(actor=mine.actor, name="B", country="DE")

    assert Customer.objects.for_tenant(mine.tenant).filter(external_ref="").count() == 3


def test_a_non_member_gets_the_answer_of_a_missing_tenant(tenant, other_tenant):
    outsider = MembershipFactory(tenant=other_tenant).user

    with pytest.raises(NotFound) as exc_info:
        actor_for_member(tenant=tenant, user=outsider)

    assert exc_info.value.message == "Tenant not found."
