"""routing_step_move: reorder a product's routing one place at a time, renumbered 10, 20, 30."""

import pytest

from mfapp.catalog.models import RoutingStep
from mfapp.catalog.services import routing_step_move
from mfapp.core.exceptions import ApplicationError, NotFound, PermissionDenied
from tests.factories import (
    ProductFactory,
    RoutingStepFactory,
    audit_count,
    audit_events,
    member_actor,
)


def _routing(product):
    return list(
        RoutingStep.objects.for_tenant(product.tenant)
        .filter(product=product)
        .order_by("sequence")
        .values_list("name", "sequence")
    )


def _product_with_steps(tenant, sequences=(10, 20, 30), names="ABC"):
    product = ProductFactory(tenant=tenant)
    steps = [
        RoutingStepFactory(tenant=tenant, product=product, sequence=sequence, name=name)
        for sequence, name in zip(sequences, names, strict=True)
    ]
    return product, steps


def test_moving_a_step_down_swaps_it_with_the_next_one(tenant):
    manager = member_actor(tenant)
    product, (_, b, _) = _product_with_steps(tenant)

    moved = routing_step_move(actor=manager, routing_step=b, direction="down")

    assert (moved.pk, moved.sequence) == (b.pk, 30)
    assert _routing(product) == [("A", 10), ("C", 20), ("B", 30)]
    [event] = audit_events(tenant, verb="routing_step.moved", target=b)
    assert (event.before, event.after, event.message, event.actor_label) == (
        {"sequence": 20},
        {"sequence": 30},
        "Moved down.",
        manager.label,
    )


def test_moving_up_renumbers_a_routing_with_gaps(tenant, system):
    product, (_, _, c) = _product_with_steps(tenant, sequences=(10, 15, 40))

    moved = routing_step_move(actor=system, routing_step=c, direction="up")

    assert moved.sequence == 20
    assert _routing(product) == [("A", 10), ("C", 20), ("B", 30)]


def test_renumbering_many_small_sequences_never_collides(tenant, system):
    names = "ABCDEFGHIJKL"
    product, steps = _product_with_steps(tenant, sequences=range(1, 13), names=names)

    routing_step_move(actor=system, routing_step=steps[-1], direction="up")

    assert _routing(product) == [
        (name, (position + 1) * 10) for position, name in enumerate("ABCDEFGHIJLK")
    ]


@pytest.mark.parametrize(("position", "direction"), [(0, "up"), (2, "down")])
def test_the_first_step_cannot_go_up_nor_the_last_down(tenant, system, position, direction):
    product, steps = _product_with_steps(tenant, sequences=(10, 15, 40))
    events = audit_count(tenant)

    moved = routing_step_move(actor=system, routing_step=steps[position], direction=direction)

    assert (moved.pk, moved.sequence) == (steps[position].pk, steps[position].sequence)
    assert _routing(product) == [("A", 10), ("B", 15), ("C", 40)]
    assert audit_count(tenant) == events


def test_other_products_keep_their_routing(tenant, system):
    product, (a, _, _) = _product_with_steps(tenant)
    other, _ = _product_with_steps(tenant, sequences=(5, 7, 9), names="XYZ")

    routing_step_move(actor=system, routing_step=a, direction="down")

    assert _routing(product) == [("B", 10), ("A", 20), ("C", 30)]
    assert _routing(other) == [("X", 5), ("Y", 7), ("Z", 9)]


def test_an_unknown_direction_is_refused(tenant, system):
    product, (a, _, _) = _product_with_steps(tenant)

    with pytest.raises(ApplicationError) as exc_info:
        routing_step_move(actor=system, routing_step=a, direction="sideways")

    assert (exc_info.value.message, exc_info.value.extra) == (
        "Move a step up or down.",
        {"fields": {"direction": ["Use up or down."]}},
    )
    assert _routing(product) == [("A", 10), ("B", 20), ("C", 30)]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_reorder(tenant, role):
    product, (a, _, _) = _product_with_steps(tenant)
    events = audit_count(tenant)

    with pytest.raises(PermissionDenied) as exc_info:
        routing_step_move(actor=member_actor(tenant, role), routing_step=a, direction="down")

    assert exc_info.value.message == (
        f"Your role ({role}) does not allow this action (catalog.manage)."
    )
    assert _routing(product) == [("A", 10), ("B", 20), ("C", 30)]
    assert audit_count(tenant) == events


def test_another_tenants_step_is_not_found(tenant, other_tenant):
    product, (a, _, _) = _product_with_steps(other_tenant)

    with pytest.raises(NotFound) as exc_info:
        routing_step_move(actor=member_actor(tenant), routing_step=a, direction="down")

    assert exc_info.value.message == "Routing step not found."
    assert _routing(product) == [("A", 10), ("B", 20), ("C", 30)]
