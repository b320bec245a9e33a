from decimal import Decimal

import pytest

from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.production.models import Batch, MaterialConsumption
from mfapp.production.services import material_consumption_record
from tests.factories import (
    MaterialFactory,
    audit_count,
    audit_events,
    batch_with_operations,
    member_actor,
)

B = Batch.Status


def _consumptions(tenant):
    return MaterialConsumption.objects.for_tenant(tenant).count()


def test_consumption_takes_exactly_that_quantity_out_of_stock(tenant):
    operator = member_actor(tenant, "operator")
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("100.000"))

    consumption = material_consumption_record(
        actor=operator,
        batch=batch,
        material_id=material.pk,
        quantity=Decimal("12.345"),
        material_lot="PLA-2024-17",
    )

    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("87.655")
    consumption.refresh_from_db()
    assert (consumption.batch_id, consumption.material_id, consumption.quantity) == (
        batch.id,
        material.id,
        Decimal("12.345"),
    )
    assert (consumption.material_lot, consumption.recorded_by) == ("PLA-2024-17", operator.user)
    [event] = audit_events(tenant, verb="material.consumed", target=batch)
    assert event.after == {"material": material.pk, "quantity": "12.345", "lot": "PLA-2024-17"}
    assert event.actor_label == operator.label


def test_consuming_the_whole_stock_leaves_zero(tenant, system):
    batch = batch_with_operations(tenant, status=B.QUALITY_CHECK)
    material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("2.500"))

    material_consumption_record(
        actor=system, batch=batch, material_id=material.pk, quantity=Decimal("2.5")
    )

    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("0.000")


def test_consumption_beyond_stock_is_refused_and_nothing_is_saved(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    material = MaterialFactory(
        tenant=tenant, name="PETG", unit="kg", stock_on_hand=Decimal("1.000")
    )
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        material_consumption_record(
            actor=system, batch=batch, material_id=material.pk, quantity=Decimal("1.001")
        )

    assert exc_info.value.message == (
        "Only 1.000 kg of PETG in stock; record the receipt of the material first."
    )
    assert exc_info.value.extra == {"fields": {"quantity": ["At most 1.000."]}}
    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("1.000")
    assert _consumptions(tenant) == 0
    assert audit_count(tenant) == events


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_quantity_must_be_positive(tenant, system, quantity):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    material = MaterialFactory(tenant=tenant)

    with pytest.raises(ApplicationError) as exc_info:
        material_consumption_record(
            actor=system, batch=batch, material_id=material.pk, quantity=Decimal(quantity)
        )

    assert list(exc_info.value.extra["fields"]) == ["quantity"]
    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("100.000")
    assert _consumptions(tenant) == 0


@pytest.mark.parametrize(
    ("status", "label"),
    [(B.PLANNED, "planned"), (B.COMPLETED, "completed"), (B.CANCELLED, "cancelled")],
)
def test_consumption_is_refused_outside_production(tenant, system, status, label):
    batch = batch_with_operations(tenant, status=status, lot_code="LOT-M")
    material = MaterialFactory(tenant=tenant)

    with pytest.raises(Conflict) as exc_info:
        material_consumption_record(
            actor=system, batch=batch, material_id=material.pk, quantity=Decimal("1")
        )

    assert exc_info.value.message == (
        f"Batch LOT-M is {label}; consumption is recorded while it is in progress or in "
        "quality check."
    )
    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("100.000")
    assert _consumptions(tenant) == 0


def test_unknown_material_is_not_found(tenant, system):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)

    with pytest.raises(NotFound) as exc_info:
        material_consumption_record(actor=system, batch=batch, material_id=-1, quantity=Decimal(1))

    assert exc_info.value.message == "Material not found."
    assert _consumptions(tenant) == 0


def test_viewer_cannot_record_consumption(tenant):
    batch = batch_with_operations(tenant, status=B.IN_PROGRESS)
    material = MaterialFactory(tenant=tenant)

    with pytest.raises(PermissionDenied):
        material_consumption_record(
            actor=member_actor(tenant, "viewer"),
            batch=batch,
            material_id=material.pk,
            quantity=Decimal("1"),
        )

    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("100.000")
    assert _consumptions(tenant) == 0
