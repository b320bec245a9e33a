from decimal import Decimal
from typing import Any, Literal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.catalog.selectors import material_get
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, NotFound
from mfapp.core.transitions import ensure_same_tenant, lock
from mfapp.core.validation import clean_and_save
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.permissions import require_permission

PRODUCT_FIELDS = {
    "sku",
    "name",
    "description",
    "design_revision",
    "unit_price",
    "unit_mass_kg",
    "max_batch_size",
    "is_active",
}
MATERIAL_FIELDS = {
    "code",
    "name",
    "unit",
    "mass_per_unit_kg",
    "emission_factor_key",
    "embodied_co2e_kg_per_kg",
    "unit_cost",
    "stock_on_hand",
}


@transaction.atomic
def material_create(*, actor: Actor, **fields: Any) -> Material:
    require_permission(actor, "catalog.manage")
    reject_unknown_fields(fields, MATERIAL_FIELDS)
    material = clean_and_save(Material(tenant=actor.tenant, **fields))
    audit_record(
        actor=actor, verb="material.created", target=material, after={"code": material.code}
    )
    return material


@transaction.atomic
def material_adjust_stock(
    *, actor: Actor, material: Material, delta: Decimal, reason: str
) -> Material:
    """Receipts (+) and corrections (-) of stock on hand; stock never goes below zero."""
    require_permission(actor, "catalog.manage")
    material = lock(actor, material)
    before = material.stock_on_hand
    if before + delta < 0:
        raise ApplicationError(
            f"Only {before} {material.unit} of {material.name} in stock; cannot remove {-delta}."
        )
    Material.objects.for_tenant(actor.tenant).filter(pk=material.pk).update(
        stock_on_hand=F("stock_on_hand") + delta, updated_at=timezone.now()
    )
    material.refresh_from_db(fields=["stock_on_hand"])
    audit_record(
        actor=actor,
        verb="material.stock_adjusted",
        target=material,
        before={"stock_on_hand": str(before)},
        after={"stock_on_hand": str(material.stock_on_hand)},
        message=reason,
    )
    return material


@transaction.atomic
def product_create(*, actor: Actor, **fields: Any) -> Product:
    require_permission(actor, "catalog.manage")
    reject_unknown_fields(fields, PRODUCT_FIELDS)
    product = clean_and_save(Product(tenant=actor.tenant, **fields))
    audit_record(actor=actor, verb="product.created", target=product, after={"sku": product.sku})
    return product


def product_update(*, actor: Actor, product: Product, **fields: Any) -> Product:
    return instance_update(
        actor=actor,
        instance=product,
        fields=fields,
        allowed=PRODUCT_FIELDS,
        permission="catalog.manage",
    )


def product_delete(*, actor: Actor, product: Product) -> None:
    """Only a product nobody ordered or made; otherwise discontinue it (is_active=False)."""
    instance_delete(actor=actor, instance=product, permission="catalog.manage")


def material_update(*, actor: Actor, material: Material, **fields: Any) -> Material:
    """Stock changes go through material_adjust_stock, so they keep their reason."""
    return instance_update(
        actor=actor,
        instance=material,
        fields=fields,
        allowed=MATERIAL_FIELDS - {"stock_on_hand"},
        permission="catalog.manage",
    )


def material_delete(*, actor: Actor, material: Material) -> None:
    instance_delete(actor=actor, instance=material, permission="catalog.manage")


@transaction.atomic
def bom_line_create(
    *,
    actor: Actor,
    product: Product,
    material_id: int,
    quantity_per_unit: Decimal,
    scrap_allowance_percent: Decimal = Decimal("0"),
) -> BomLine:
    require_permission(actor, "catalog.manage")
    ensure_same_tenant(actor, product)
    material = material_get(tenant=actor.tenant, material_id=material_id)
    line = clean_and_save(
        BomLine(
            tenant=actor.tenant,
            product=product,
            material=material,
            quantity_per_unit=quantity_per_unit,
            scrap_allowance_percent=scrap_allowance_percent,
        )
    )
    audit_record(
        actor=actor,
        verb="bom_line.created",
        target=line,
        after={"product": product.pk, "material": material.pk, "qty": str(quantity_per_unit)},
    )
    return line


@transaction.atomic
def routing_step_create(
    *,
    actor: Actor,
    product: Product,
    name: str,
    capability: str,
    run_minutes_per_unit: Decimal,
    setup_minutes: Decimal = Decimal("0"),
    sequence: int | None = None,
    material_id: int | None = None,
) -> RoutingStep:
    """Adds a step; without a sequence it goes last (10, 20, 30 ... leaves room to insert)."""
    require_permission(actor, "catalog.manage")
    product = lock(actor, product)
    material = material_get(tenant=actor.tenant, material_id=material_id) if material_id else None
    if sequence is None:
        last = product.routing_steps.order_by("-sequence").values_list("sequence", flat=True)
        sequence = (last.first() or 0) + 10
    step = clean_and_save(
        RoutingStep(
            tenant=actor.tenant,
            product=product,
            sequence=sequence,
            name=name,
            capability=capability,
            setup_minutes=setup_minutes,
            run_minutes_per_unit=run_minutes_per_unit,
            material=material,
        )
    )
    audit_record(
        actor=actor,
        verb="routing_step.created",
        target=step,
        after={"product": product.pk, "sequence": sequence, "capability": capability},
    )
    return step


def bom_line_update(*, actor: Actor, bom_line: BomLine, **fields: Any) -> BomLine:
    return instance_update(
        actor=actor,
        instance=bom_line,
        fields=fields,
        allowed={"quantity_per_unit", "scrap_allowance_percent"},
        permission="catalog.manage",
    )


def bom_line_delete(*, actor: Actor, bom_line: BomLine) -> None:
    instance_delete(actor=actor, instance=bom_line, permission="catalog.manage")


def routing_step_update(
    *, actor: Actor, routing_step: RoutingStep, material_id: int | None = ..., **fields: Any
) -> RoutingStep:
    """Changes the recipe of future batches; planned batches keep their copied operations."""
    if material_id is not ...:
        fields["material"] = (
            material_get(tenant=actor.tenant, material_id=material_id) if material_id else None
        )
    return instance_update(
        actor=actor,
        instance=routing_step,
        fields=fields,
        allowed={
            "sequence",
            "name",
            "capability",
            "setup_minutes",
            "run_minutes_per_unit",
            "material",
        },
        permission="catalog.manage",
    )


def routing_step_delete(*, actor: Actor, routing_step: RoutingStep) -> None:
    instance_delete(actor=actor, instance=routing_step, permission="catalog.manage")


@transaction.atomic
def routing_step_move(
    *, actor: Actor, routing_step: RoutingStep, direction: Literal["up", "down"]
) -> RoutingStep:
    """Swap a step with its neighbour ("up" = one place earlier) and renumber the product's
    routing 10, 20, 30 ... in the same transaction. The product row is locked, so two people
    reordering the same routing take turns. Moving the first step up or the last step down
    changes nothing."""
    require_permission(actor, "catalog.manage")
    if direction not in ("up", "down"):
        raise ApplicationError(
            "Move a step up or down.", {"fields": {"direction": ["Use up or down."]}}
        )
    ensure_same_tenant(actor, routing_step)
    product = lock(actor, routing_step.product)
    steps = list(
        RoutingStep.objects.for_tenant(actor.tenant)
        .filter(product=product)
        .order_by("sequence", "pk")
    )
    index = next((i for i, step in enumerate(steps) if step.pk == routing_step.pk), None)
    if index is None:  # removed meanwhile
        raise NotFound("Routing step not found.")
    moved = steps[index]
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(steps):
        return moved
    steps[index], steps[other] = steps[other], steps[index]
    before = moved.sequence
    _routing_renumber(actor=actor, steps=steps)
    audit_record(
        actor=actor,
        verb="routing_step.moved",
        target=moved,
        before={"sequence": before},
        after={"sequence": moved.sequence},
        message=f"Moved {direction}.",
    )
    return moved


def _routing_renumber(*, actor: Actor, steps: list[RoutingStep]) -> None:
    """Give `steps` (all steps of one product, in their new order) the sequences 10, 20, 30 ...

    Sequences are unique per product and checked row by row, so the changed rows first move
    above every current and every final number, then to their final numbers."""
    final = {step.pk: (position + 1) * 10 for position, step in enumerate(steps)}
    changed = [step for step in steps if step.sequence != final[step.pk]]
    if not changed:
        return
    parking = max(max(step.sequence for step in steps), 10 * len(steps)) + 1
    now = timezone.now()
    scoped = RoutingStep.objects.for_tenant(actor.tenant)
    for offset, step in enumerate(changed):
        step.sequence, step.updated_at = parking + offset, now
    scoped.bulk_update(changed, ["sequence", "updated_at"])
    for step in changed:
        step.sequence = final[step.pk]
    scoped.bulk_update(changed, ["sequence"])
