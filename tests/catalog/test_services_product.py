from decimal import Decimal

import pytest

from mfapp.catalog.models import BomLine, Product, RoutingStep
from mfapp.catalog.services import (
    bom_line_create,
    material_create,
    product_create,
    product_update,
    routing_step_create,
)
from mfapp.core.exceptions import ApplicationError, PermissionDenied
from tests.factories import MaterialFactory, ProductFactory, audit_count, audit_events, member_actor


def test_manager_creates_a_product(tenant):
    manager = member_actor(tenant)

    product = product_create(actor=manager, sku="BRK-1", name="Bracket", max_batch_size=20)

    product.refresh_from_db()
    assert (product.tenant_id, product.sku, product.max_batch_size) == (tenant.id, "BRK-1", 20)
    [event] = audit_events(tenant, verb="product.created", target=product)
    assert (event.after, event.actor_label) == ({"sku": "BRK-1"}, manager.label)


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operator_and_viewer_cannot_create_products(tenant, role):
    actor = member_actor(tenant, role)
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied) as exc_info:
        product_create(actor=actor, sku="BRK-1", name="Bracket")

    assert exc_info.value.message == (
        f"Your role ({role}) does not allow this action (catalog.manage)."
    )
    assert Product.objects.for_tenant(tenant).count() == 0
    assert audit_count(tenant) == events


def test_unknown_product_fields_are_refused(tenant, system):
    with pytest.raises(ApplicationError) as exc_info:
        product_create(actor=system, sku="X", name="X", tenant_id=99)

    assert exc_info.value.message == "Unknown field(s): tenant_id."
    assert Product.objects.for_tenant(tenant).count() == 0


def test_max_batch_size_must_be_at_least_one(tenant, system):
    with pytest.raises(ApplicationError) as exc_info:
        product_create(actor=system, sku="X", name="X", max_batch_size=0)

    assert list(exc_info.value.extra["fields"]) == ["max_batch_size"]
    assert Product.objects.for_tenant(tenant).count() == 0


def test_product_update(tenant, system):
    product = ProductFactory(tenant=tenant, name="Old", design_revision="A")

    product_update(actor=system, product=product, name="New", design_revision="B")

    product.refresh_from_db()
    assert (product.name, product.design_revision) == ("New", "B")
    [event] = audit_events(tenant, verb="product.updated", target=product)
    assert (event.before, event.after) == (
        {"name": "Old", "design_revision": "A"},
        {"name": "New", "design_revision": "B"},
    )


def test_routing_steps_are_numbered_in_tens_unless_given(tenant, system):
    product = ProductFactory(tenant=tenant)

    first = routing_step_create(
        actor=system,
        product=product,
        name="Print",
        capability="fdm-print",
        run_minutes_per_unit=Decimal("12"),
    )
    second = routing_step_create(
        actor=system,
        product=product,
        name="Sand",
        capability="post-process",
        run_minutes_per_unit=Decimal("2"),
    )
    inserted = routing_step_create(
        actor=system,
        product=product,
        name="Cure",
        capability="post-process",
        run_minutes_per_unit=Decimal("1"),
        sequence=15,
    )

    assert (first.sequence, second.sequence, inserted.sequence) == (10, 20, 15)
    assert list(product.routing_steps.order_by("sequence").values_list("name", flat=True)) == [
        "Print",
        "Cure",
        "Sand",
    ]
    assert len(audit_events(tenant, verb="routing_step.created")) == 3


def test_duplicate_routing_sequence_is_refused(tenant, system):
    product = ProductFactory(tenant=tenant)
    kwargs = {"name": "Print", "capability": "fdm-print", "run_minutes_per_unit": Decimal(1)}
    routing_step_create(actor=system, product=product, sequence=10, **kwargs)

    with pytest.raises(ApplicationError):
        routing_step_create(actor=system, product=product, sequence=10, **kwargs)

    assert RoutingStep.objects.for_tenant(tenant).count() == 1


def test_bom_line_create(tenant, system):
    product = ProductFactory(tenant=tenant)
    material = MaterialFactory(tenant=tenant)

    line = bom_line_create(
        actor=system,
        product=product,
        material_id=material.pk,
        quantity_per_unit=Decimal("0.25"),
        scrap_allowance_percent=Decimal("5"),
    )

    line.refresh_from_db()
    assert (line.product_id, line.material_id, line.quantity_per_unit) == (
        product.id,
        material.id,
        Decimal("0.2500"),
    )
    [event] = audit_events(tenant, verb="bom_line.created", target=line)
    assert event.after == {"product": product.pk, "material": material.pk, "qty": "0.25"}


def test_the_same_material_twice_in_a_bom_is_refused(tenant, system):
    product = ProductFactory(tenant=tenant)
    material = MaterialFactory(tenant=tenant)
    bom_line_create(
        actor=system, product=product, material_id=material.pk, quantity_per_unit=Decimal(1)
    )

    with pytest.raises(ApplicationError):
        bom_line_create(
            actor=system, product=product, material_id=material.pk, quantity_per_unit=Decimal(2)
        )

    assert BomLine.objects.for_tenant(tenant).count() == 1


def test_material_create(tenant, system):
    material = material_create(actor=system, code="PLA-BLK", name="PLA black", unit="kg")

    assert (material.tenant_id, material.code, material.stock_on_hand) == (
        tenant.id,
        "PLA-BLK",
        Decimal("0"),
    )
    assert len(audit_events(tenant, verb="material.created", target=material)) == 1
