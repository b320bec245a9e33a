"""Batches and their operations: planning, running on machines, quality and consumption."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.catalog.models import Material, Product
from mfapp.catalog.selectors import material_get, product_get
from mfapp.core.exceptions import ApplicationError, Conflict, NotFound
from mfapp.core.numbering import next_code
from mfapp.core.transitions import change_status, ensure_same_tenant, lock, transition_conflict
from mfapp.core.validation import application_error_from, clean_and_save
from mfapp.machines.models import Machine
from mfapp.machines.selectors import machine_get
from mfapp.machines.services import machine_set_running
from mfapp.orders.models import OrderLine
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Site
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import site_get

B = Batch.Status
O = BatchOperation.Status  # noqa: E741
OPEN_BATCH = {B.PLANNED, B.SCHEDULED, B.IN_PROGRESS, B.QUALITY_CHECK}


def lot_code_next(*, actor: Actor) -> str:
    return next_code(
        Batch.objects.for_tenant(actor.tenant),
        field="lot_code",
        prefix=f"L{timezone.now():%y%m%d}-",
        width=4,
    )


def _batch_create(
    *,
    actor: Actor,
    product: Product,
    site: Site,
    quantity: int,
    order_line: OrderLine | None = None,
    lot_code: str | None = None,
    release_at: datetime | None = None,
) -> Batch:
    steps = list(product.routing_steps.order_by("sequence"))
    if not steps:
        raise ApplicationError(
            f"Product {product.sku} has no routing steps; add how it is made before planning it."
        )
    batch = clean_and_save(
        Batch(
            tenant=actor.tenant,
            lot_code=lot_code or lot_code_next(actor=actor),
            product=product,
            design_revision=product.design_revision,
            site=site,
            order_line=order_line,
            quantity_planned=quantity,
            release_at=release_at,
        )
    )
    BatchOperation.objects.bulk_create(
        BatchOperation(
            tenant=actor.tenant,
            batch=batch,
            routing_step=step,
            sequence=step.sequence,
            name=step.name,
            capability=step.capability,
            setup_minutes=step.setup_minutes,
            run_minutes_per_unit=step.run_minutes_per_unit,
            material_id=step.material_id,
        )
        for step in steps
    )
    audit_record(
        actor=actor,
        verb="batch.created",
        target=batch,
        after={"status": batch.status, "product": product.pk, "quantity": quantity},
    )
    return batch


@transaction.atomic
def batch_create(
    *,
    actor: Actor,
    product_id: int,
    site_id: int,
    quantity: int,
    lot_code: str | None = None,
    release_at: datetime | None = None,
) -> Batch:
    """A batch made to stock (not for an order): operations copied from the routing."""
    require_permission(actor, "batches.manage")
    product = product_get(tenant=actor.tenant, product_id=product_id)
    site = site_get(tenant=actor.tenant, site_id=site_id)
    return _batch_create(
        actor=actor,
        product=product,
        site=site,
        quantity=quantity,
        lot_code=lot_code,
        release_at=release_at,
    )


def batches_create_for_order_line(*, actor: Actor, order_line: OrderLine) -> list[Batch]:
    """Splits a line into batches of at most the product's max batch size (called by
    order_confirm inside its transaction)."""
    ensure_same_tenant(actor, order_line)
    product = order_line.product
    size = product.max_batch_size or order_line.quantity
    remaining, batches = order_line.quantity, []
    while remaining > 0:
        quantity = min(size, remaining)
        batches.append(
            _batch_create(
                actor=actor,
                product=product,
                site=order_line.order.site,
                quantity=quantity,
                order_line=order_line,
            )
        )
        remaining -= quantity
    return batches


@transaction.atomic
def batch_schedule(*, actor: Actor, batch: Batch) -> Batch:
    """planned -> scheduled, once every operation has a machine and planned times."""
    require_permission(actor, "batches.manage")
    batch = lock(actor, batch)
    unplanned = batch.operations.filter(machine__isnull=True).count()
    if unplanned and batch.status == B.PLANNED:
        raise Conflict(f"Batch {batch} has {unplanned} operation(s) without a machine yet.")
    return change_status(
        actor=actor,
        instance=batch,
        to=B.SCHEDULED,
        allowed_from={B.PLANNED},
        verb="batch.scheduled",
    )


@transaction.atomic
def batch_start(*, actor: Actor, batch: Batch, expected_version: int | None = None) -> Batch:
    """`expected_version`: the batch version the caller acted on; if the batch changed
    since, Conflict ("changed meanwhile, reload") instead of acting on a newer state."""
    require_permission(actor, "operations.run")
    batch = lock(actor, batch)
    return _batch_start(actor=actor, batch=batch, expected_version=expected_version)


def _batch_start(*, actor: Actor, batch: Batch, expected_version: int | None = None) -> Batch:
    if batch.release_at and batch.release_at > timezone.now() and batch.status != B.IN_PROGRESS:
        raise Conflict(
            f"Batch {batch} is not released before {batch.release_at:%Y-%m-%d %H:%M} UTC."
        )
    batch = change_status(
        actor=actor,
        instance=batch,
        to=B.IN_PROGRESS,
        allowed_from={B.PLANNED, B.SCHEDULED},
        verb="batch.started",
        changes={"started_at": timezone.now()},
        expected_version=expected_version,
    )
    if batch.order_line_id:
        from mfapp.orders.services import order_mark_in_production  # orders imports production

        order_mark_in_production(actor=actor, order=batch.order_line.order)
    return batch


@transaction.atomic
def batch_submit_for_quality_check(*, actor: Actor, batch: Batch) -> Batch:
    require_permission(actor, "operations.run")
    batch = lock(actor, batch)
    return _batch_submit_for_quality_check(actor=actor, batch=batch)


def _batch_submit_for_quality_check(*, actor: Actor, batch: Batch) -> Batch:
    unfinished = batch.operations.exclude(status__in=[O.DONE, O.CANCELLED]).count()
    if unfinished and batch.status == B.IN_PROGRESS:
        raise Conflict(f"Batch {batch} still has {unfinished} unfinished operation(s).")
    last_done = batch.operations.filter(status=O.DONE).order_by("-sequence").first()
    good = last_done.quantity_good if last_done and last_done.quantity_good is not None else 0
    return change_status(
        actor=actor,
        instance=batch,
        to=B.QUALITY_CHECK,
        allowed_from={B.IN_PROGRESS},
        verb="batch.quality_check",
        changes={"quantity_good": good},
    )


@transaction.atomic
def batch_complete(*, actor: Actor, batch: Batch) -> Batch:
    """quality check -> completed, when no characteristic's latest check failed."""
    require_permission(actor, "quality.record")
    batch = lock(actor, batch)
    latest: dict[str, QualityCheck] = {}
    for check in batch.quality_checks.order_by("checked_at", "id"):
        latest[check.characteristic] = check
    failing = sorted(name for name, check in latest.items() if not check.passed)
    if failing and batch.status == B.QUALITY_CHECK:
        raise Conflict(
            f"Batch {batch} failed its check of {', '.join(failing)}; record a passing re-check "
            "(after rework) or cancel the batch.",
            {"failing": failing},
        )
    batch = change_status(
        actor=actor,
        instance=batch,
        to=B.COMPLETED,
        allowed_from={B.QUALITY_CHECK},
        verb="batch.completed",
        changes={"completed_at": timezone.now()},
    )
    if batch.order_line_id:
        from mfapp.orders.services import order_mark_ready_if_complete  # import cycle

        order_mark_ready_if_complete(actor=actor, order=batch.order_line.order)
    return batch


@transaction.atomic
def batch_cancel(
    *, actor: Actor, batch: Batch, reason: str = "", expected_version: int | None = None
) -> Batch:
    """`expected_version`: as for batch_start."""
    require_permission(actor, "batches.manage")
    batch = lock(actor, batch)
    batch = change_status(
        actor=actor,
        instance=batch,
        to=B.CANCELLED,
        allowed_from=OPEN_BATCH,
        verb="batch.cancelled",
        message=reason,
        expected_version=expected_version,
    )
    for operation in batch.operations.filter(status__in=[O.PENDING, O.RUNNING, O.PAUSED]):
        was_running = operation.status == O.RUNNING
        change_status(
            actor=actor,
            instance=operation,
            to=O.CANCELLED,
            allowed_from={O.PENDING, O.RUNNING, O.PAUSED},
            verb="operation.cancelled",
            message=reason,
        )
        if was_running and operation.machine_id:
            machine_set_running(actor=actor, machine=lock(actor, operation.machine), running=False)
    if batch.order_line_id:
        from mfapp.orders.services import order_mark_ready_if_complete  # import cycle

        order_mark_ready_if_complete(actor=actor, order=batch.order_line.order)
    return batch


def _operation_input_quantity(operation: BatchOperation) -> int:
    """Units that reach this operation: the previous operation's good units, else the plan."""
    previous = (
        operation.batch.operations.filter(sequence__lt=operation.sequence, status=O.DONE)
        .order_by("-sequence")
        .first()
    )
    if previous is not None and previous.quantity_good is not None:
        return previous.quantity_good
    return operation.batch.quantity_planned


@transaction.atomic
def operation_start(
    *, actor: Actor, operation: BatchOperation, machine_id: int | None = None
) -> BatchOperation:
    """pending -> running on a capable, available machine of the batch's site. Earlier
    operations must be done; the batch starts with its first operation."""
    require_permission(actor, "operations.run")
    operation = lock(actor, operation)
    batch = lock(actor, operation.batch)
    if batch.status not in (B.PLANNED, B.SCHEDULED, B.IN_PROGRESS):
        raise Conflict(f"Batch {batch} is {batch.get_status_display().lower()}; nothing to start.")
    if operation.status != O.PENDING:
        raise Conflict(
            f"Operation {operation.name} is {operation.get_status_display().lower()}; "
            "only pending operations start."
        )
    waiting = batch.operations.filter(sequence__lt=operation.sequence).exclude(
        status__in=[O.DONE, O.CANCELLED]
    )
    if waiting.exists():
        raise Conflict(f"Finish the earlier operations of batch {batch} first.")
    target_id = machine_id or operation.machine_id
    if target_id is None:
        raise ApplicationError(
            "Choose a machine for this operation.", {"fields": {"machine": ["Required."]}}
        )
    machine = lock(actor, machine_get(tenant=actor.tenant, machine_id=target_id))
    _ensure_machine_fits(machine=machine, operation=operation, batch=batch)
    if machine.status != Machine.Status.AVAILABLE:
        raise Conflict(f"Machine {machine} is {machine.get_status_display().lower()}.")
    if batch.status != B.IN_PROGRESS:
        _batch_start(actor=actor, batch=batch)
    machine_set_running(actor=actor, machine=machine, running=True)
    changes: dict[str, object] = {"machine": machine, "actual_start": timezone.now()}
    if operation.machine_id is not None and operation.machine_id != machine.pk:
        # Planned for another machine: those times are not a booking of this one (they could
        # overlap its plan: see production/overlaps.py). The next schedule run books it here.
        changes.update(planned_start=None, planned_end=None)
    return change_status(
        actor=actor,
        instance=operation,
        to=O.RUNNING,
        allowed_from={O.PENDING},
        verb="operation.started",
        changes=changes,
    )


def _ensure_machine_fits(*, machine: Machine, operation: BatchOperation, batch: Batch) -> None:
    if machine.site_id != batch.site_id:
        raise ApplicationError(f"Machine {machine} is at another site than batch {batch}.")
    if not machine.has_capability(operation.capability):
        raise ApplicationError(
            f"Machine {machine} cannot do {operation.get_capability_display().lower()}."
        )


@transaction.atomic
def operation_pause(*, actor: Actor, operation: BatchOperation, reason: str = "") -> BatchOperation:
    require_permission(actor, "operations.run")
    operation = lock(actor, operation)
    operation = change_status(
        actor=actor,
        instance=operation,
        to=O.PAUSED,
        allowed_from={O.RUNNING},
        verb="operation.paused",
        message=reason,
    )
    machine_set_running(actor=actor, machine=lock(actor, operation.machine), running=False)
    return operation


def operations_pause_on_machine(*, actor: Actor, machine: Machine, reason: str) -> None:
    """A machine broke down: pause what runs on it. The caller sets the machine's status."""
    running = BatchOperation.objects.for_tenant(actor.tenant).filter(
        machine=machine, status=O.RUNNING
    )
    for operation in running:
        change_status(
            actor=actor,
            instance=operation,
            to=O.PAUSED,
            allowed_from={O.RUNNING},
            verb="operation.paused",
            message=f"Machine down: {reason}",
        )


@transaction.atomic
def operation_resume(*, actor: Actor, operation: BatchOperation) -> BatchOperation:
    require_permission(actor, "operations.run")
    operation = lock(actor, operation)
    if operation.status != O.PAUSED:  # only paused operations have a machine to lock
        raise transition_conflict(operation, O.RUNNING, {O.PAUSED})
    machine = lock(actor, operation.machine)
    if machine.status != Machine.Status.AVAILABLE:
        raise Conflict(f"Machine {machine} is {machine.get_status_display().lower()}.")
    operation = change_status(
        actor=actor,
        instance=operation,
        to=O.RUNNING,
        allowed_from={O.PAUSED},
        verb="operation.resumed",
    )
    machine_set_running(actor=actor, machine=machine, running=True)
    return operation


@transaction.atomic
def operation_finish(
    *, actor: Actor, operation: BatchOperation, quantity_good: int, quantity_scrap: int = 0
) -> BatchOperation:
    """running -> done with the good and scrapped units. The last operation moves the batch
    on to its quality check."""
    require_permission(actor, "operations.run")
    operation = lock(actor, operation)
    if operation.status != O.RUNNING:
        raise Conflict(
            f"Operation {operation.name} is {operation.get_status_display().lower()}; "
            "only a running operation can finish."
        )
    if quantity_good < 0 or quantity_scrap < 0:
        raise ApplicationError("Quantities cannot be negative.")
    available = _operation_input_quantity(operation)
    if quantity_good + quantity_scrap > available:
        raise ApplicationError(
            f"Only {available} unit(s) reached this operation; good + scrap "
            f"({quantity_good + quantity_scrap}) cannot be more.",
            {"fields": {"quantity_good": [f"At most {available} with the scrap."]}},
        )
    operation = change_status(
        actor=actor,
        instance=operation,
        to=O.DONE,
        allowed_from={O.RUNNING},
        verb="operation.finished",
        changes={
            "actual_end": timezone.now(),
            "quantity_good": quantity_good,
            "quantity_scrap": quantity_scrap,
        },
    )
    machine_set_running(actor=actor, machine=lock(actor, operation.machine), running=False)
    batch = lock(actor, operation.batch)
    Batch.objects.for_tenant(actor.tenant).filter(pk=batch.pk).update(
        quantity_scrap=F("quantity_scrap") + quantity_scrap, updated_at=timezone.now()
    )
    batch.refresh_from_db(fields=["quantity_scrap"])
    if not batch.operations.exclude(status__in=[O.DONE, O.CANCELLED]).exists():
        _batch_submit_for_quality_check(actor=actor, batch=batch)
    return operation


@transaction.atomic
def quality_check_record(
    *,
    actor: Actor,
    batch: Batch,
    characteristic: str,
    target: Decimal,
    tolerance: Decimal,
    measured: Decimal,
    unit: str = "",
    operation_id: int | None = None,
    notes: str = "",
) -> QualityCheck:
    """Pass when |measured - target| <= tolerance."""
    require_permission(actor, "quality.record")
    batch = lock(actor, batch)
    if batch.status not in (B.IN_PROGRESS, B.QUALITY_CHECK):
        raise Conflict(
            f"Batch {batch} is {batch.get_status_display().lower()}; checks are recorded while "
            "it is in progress or in quality check."
        )
    operation = None
    if operation_id is not None:
        operation = batch.operations.filter(pk=operation_id).first()
        if operation is None:  # unknown, another batch's or another tenant's: all look missing
            raise NotFound("Operation not found.")
    check = clean_and_save(
        QualityCheck(
            tenant=actor.tenant,
            batch=batch,
            operation=operation,
            characteristic=characteristic,
            unit=unit,
            target=target,
            tolerance=tolerance,
            measured=measured,
            passed=abs(Decimal(measured) - Decimal(target)) <= Decimal(tolerance),
            checked_by=actor.user,
            checked_at=timezone.now(),
            notes=notes,
        )
    )
    audit_record(
        actor=actor,
        verb="quality_check.recorded",
        target=batch,
        after={"characteristic": characteristic, "measured": str(measured), "passed": check.passed},
    )
    return check


@transaction.atomic
def material_consumption_record(
    *,
    actor: Actor,
    batch: Batch,
    material_id: int,
    quantity: Decimal,
    material_lot: str = "",
) -> MaterialConsumption:
    """What a batch used; taken out of stock (refused when the stock is not there)."""
    require_permission(actor, "operations.run")
    batch = lock(actor, batch)
    if batch.status not in (B.IN_PROGRESS, B.QUALITY_CHECK):
        raise Conflict(
            f"Batch {batch} is {batch.get_status_display().lower()}; consumption is recorded "
            "while it is in progress or in quality check."
        )
    material = lock(actor, material_get(tenant=actor.tenant, material_id=material_id))
    consumption = MaterialConsumption(
        tenant=actor.tenant,
        batch=batch,
        material=material,
        quantity=quantity,
        material_lot=material_lot,
        recorded_by=actor.user,
        recorded_at=timezone.now(),
    )
    try:
        consumption.full_clean()
    except ValidationError as exc:
        raise application_error_from(exc, MaterialConsumption) from None
    if material.stock_on_hand < consumption.quantity:
        raise ApplicationError(
            f"Only {material.stock_on_hand} {material.unit} of {material.name} in stock; "
            "record the receipt of the material first.",
            {"fields": {"quantity": [f"At most {material.stock_on_hand}."]}},
        )
    consumption.save()
    Material.objects.for_tenant(actor.tenant).filter(pk=material.pk).update(
        stock_on_hand=F("stock_on_hand") - consumption.quantity, updated_at=timezone.now()
    )
    audit_record(
        actor=actor,
        verb="material.consumed",
        target=batch,
        after={"material": material.pk, "quantity": str(quantity), "lot": material_lot},
    )
    return consumption


# The moves a person can make on the batches board, by current status, in the order the
# buttons show. Each target is owned by one of the services above, which checks it again.
BATCH_MOVES: dict[str, tuple[str, ...]] = {
    B.PLANNED: (B.SCHEDULED, B.IN_PROGRESS, B.CANCELLED),
    B.SCHEDULED: (B.IN_PROGRESS, B.CANCELLED),
    B.IN_PROGRESS: (B.QUALITY_CHECK, B.CANCELLED),
    B.QUALITY_CHECK: (B.COMPLETED, B.CANCELLED),
    B.COMPLETED: (),
    B.CANCELLED: (),
}


def batch_move(*, actor: Actor, batch: Batch, to: str, reason: str = "") -> Batch:
    """Move a batch to status `to` (the board's buttons and drag and drop) through the service
    that owns that transition; an illegal move raises that service's Conflict."""
    require_permission(actor, "batches.manage")
    if to == B.SCHEDULED:
        return batch_schedule(actor=actor, batch=batch)
    if to == B.IN_PROGRESS:
        return batch_start(actor=actor, batch=batch)
    if to == B.QUALITY_CHECK:
        return batch_submit_for_quality_check(actor=actor, batch=batch)
    if to == B.COMPLETED:
        return batch_complete(actor=actor, batch=batch)
    if to == B.CANCELLED:
        return batch_cancel(actor=actor, batch=batch, reason=reason)
    if to == B.PLANNED:  # nothing moves a batch back to planned
        raise transition_conflict(batch, B.PLANNED, set())
    raise ApplicationError(f"Unknown batch status {to!r}.", {"fields": {"status": ["Unknown."]}})
