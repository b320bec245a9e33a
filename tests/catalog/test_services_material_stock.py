from decimal import Decimal

import pytest

from mfapp.catalog.services import material_adjust_stock
from mfapp.core.exceptions import ApplicationError, PermissionDenied
from tests.factories import MaterialFactory, audit_count, audit_events, member_actor


@pytest.mark.parametrize(
    ("delta", "after"),
    [("25.5", "35.500"), ("-4.25", "5.750"), ("-10", "0.000"), ("0.001", "10.001")],
)
def test_adjust_stock(tenant, delta, after):
    manager = member_actor(tenant)
    material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("10.000"))

    adjusted = material_adjust_stock(
        actor=manager, material=material, delta=Decimal(delta), reason="Stocktake"
    )

    assert adjusted.stock_on_hand == Decimal(after)
    material.refresh_from_db()
    assert material.stock_on_hand == Decimal(after)
    [event] = audit_events(tenant, verb="material.stock_adjusted", target=material)
    assert (event.before, event.after, event.message, event.actor_label) == (
        {"stock_on_hand": "10.000"},
        {"stock_on_hand": after},
        "Stocktake",
        manager.label,
    )


def test_stock_cannot_go_below_zero(tenant, system):
    material = MaterialFactory(tenant=tenant, name="Resin", unit="l", stock_on_hand=Decimal("5"))
    events = audit_count(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        material_adjust_stock(actor=system, material=material, delta=Decimal("-6"), reason="x")

    assert exc_info.value.message == "Only 5.000 l of Resin in stock; cannot remove 6."
    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("5.000")
    assert audit_count(tenant) == events


def test_operator_cannot_adjust_stock(tenant):
    material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("5"))

    with pytest.raises(PermissionDenied):
        material_adjust_stock(
            actor=member_actor(tenant, "operator"),
            material=material,
            delta=Decimal("1"),
            reason="x",
        )

    material.refresh_from_db()
    assert material.stock_on_hand == Decimal("5.000")
