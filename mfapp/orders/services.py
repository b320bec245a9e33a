from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.catalog.selectors import product_get
from mfapp.core.crud import instance_delete, instance_update, reject_unknown_fields
from mfapp.core.exceptions import ApplicationError, Conflict
from mfapp.core.numbering import next_code
from mfapp.core.transitions import change_status, ensure_same_tenant, lock
from mfapp.core.validation import clean_and_save
from mfapp.integrations.events import ORDER_EVENT_FIELDS, event_data, webhook_event_publish
from mfapp.integrations.models import EventType
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.orders.selectors import customer_get
from mfapp.production.models import Batch
from mfapp.production.services import batch_cancel, batches_create_for_order_line
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import site_get

S = Order.Status
# Lines are part of every answer about an order (its page, the API's order and order list), so
# their number is bounded: 100 lines, the new-order form's rows, is far beyond real orders.
MAX_LINES_PER_ORDER = 100
CUSTOMER_FIELDS = {
    "name",
    "email",
    "phone",
    "delivery_address",
    "country",
    "latitude",
    "longitude",
    "external_ref",
}


class OrderLineInput(TypedDict, total=False):
    product_id: int
    quantity: int
    unit_price: Decimal


@transaction.atomic
def customer_create(*, actor: Actor, **fields: Any) -> Customer:
    require_permission(actor, "orders.manage")
    reject_unknown_fields(fields, CUSTOMER_FIELDS)
    customer = clean_and_save(Customer(tenant=actor.tenant, **fields))
    audit_record(
        actor=actor, verb="customer.created", target=customer, after={"name": customer.name}
    )
    return customer


def order_number_next(*, actor: Actor) -> str:
    return next_code(
        Order.objects.for_tenant(actor.tenant), field="number", prefix=f"SO-{timezone.now():%Y}-"
    )


@transaction.atomic
def order_create(
    *,
    actor: Actor,
    customer_id: int,
    site_id: int,
    due_date: date,
    lines: list[OrderLineInput] | None = None,
    number: str | None = None,
    priority: int = Order.Priority.NORMAL,
    notes: str = "",
    external_ref: str = "",
) -> Order:
    """A draft order with its lines. Every related id is resolved within the tenant."""
    require_permission(actor, "orders.manage")
    if lines and len(lines) > MAX_LINES_PER_ORDER:
        raise ApplicationError(
            f"An order has at most {MAX_LINES_PER_ORDER} lines, not {len(lines):,}; "
            "split it into several orders."
        )
    customer = customer_get(tenant=actor.tenant, customer_id=customer_id)
    site = site_get(tenant=actor.tenant, site_id=site_id)
    order = clean_and_save(
        Order(
            tenant=actor.tenant,
            number=number or order_number_next(actor=actor),
            customer=customer,
            site=site,
            due_date=due_date,
            priority=priority,
            notes=notes,
            external_ref=external_ref,
        )
    )
    for line in lines or []:
        _order_line_add(actor=actor, order=order, **line)
    audit_record(
        actor=actor,
        verb="order.created",
        target=order,
        after={"number": order.number, "status": order.status, "lines": len(lines or [])},
    )
    webhook_event_publish(
        tenant=actor.tenant,
        event_type=EventType.ORDER_CREATED,
        data=event_data(order, ORDER_EVENT_FIELDS),
    )
    return order


@transaction.atomic
def order_create_with_lines(
    *,
    actor: Actor,
    lines: list[OrderLineInput],
    customer_id: int | None = None,
    new_customer: dict[str, Any] | None = None,
    **order_fields: Any,
) -> Order:
    """The browser's new order: a new customer (when `new_customer` is given instead of
    `customer_id`), the draft order, then each line through `order_line_add`; all or nothing.

    A refusal keeps its message and says which part it concerns in `extra`: `"part"` is
    "customer", "order" or "line", and for a line `"line"` is its index in `lines`."""
    require_permission(actor, "orders.manage")
    if new_customer is not None:
        try:
            customer_id = customer_create(actor=actor, **new_customer).pk
        except ApplicationError as exc:
            raise _refusal_about(exc, part="customer") from None
    try:
        order = order_create(actor=actor, customer_id=customer_id, **order_fields)
    except ApplicationError as exc:
        raise _refusal_about(exc, part="order") from None
    for index, line in enumerate(lines):
        try:
            order_line_add(actor=actor, order=order, **line)
        except ApplicationError as exc:
            raise _refusal_about(exc, part="line", line=index) from None
    order.refresh_from_db()
    return order


def _refusal_about(exc: ApplicationError, **where: Any) -> ApplicationError:
    """The same kind of error with the same message, saying which part it is about."""
    return type(exc)(exc.message, {**exc.extra, **where})


@transaction.atomic
def order_line_add(
    *, actor: Actor, order: Order, product_id: int, quantity: int, unit_price: Decimal | None = None
) -> OrderLine:
    require_permission(actor, "orders.manage")
    order = lock(actor, order)
    if OrderLine.objects.for_tenant(actor.tenant).filter(order=order).count() >= (
        MAX_LINES_PER_ORDER
    ):
        raise ApplicationError(
            f"Order {order} has {MAX_LINES_PER_ORDER} lines, the most an order can have; "
            "put further products on another order."
        )
    line = _order_line_add(
        actor=actor, order=order, product_id=product_id, quantity=quantity, unit_price=unit_price
    )
    order.save(update_fields=["updated_at"])  # the lines are part of the order's answer
    audit_record(
        actor=actor,
        verb="order.line_added",
        target=order,
        after={"product": product_id, "quantity": quantity},
    )
    return line


def _order_line_add(
    *, actor: Actor, order: Order, product_id: int, quantity: int, unit_price: Decimal | None = None
) -> OrderLine:
    if order.status != S.DRAFT:
        raise Conflict(
            f"Order {order} is {order.get_status_display().lower()}; only drafts change."
        )
    product = product_get(tenant=actor.tenant, product_id=product_id)
    if not product.is_active:
        raise ApplicationError(f"Product {product.sku} is discontinued; it cannot be ordered.")
    return clean_and_save(
        OrderLine(
            tenant=actor.tenant,
            order=order,
            product=product,
            quantity=quantity,
            unit_price=product.unit_price if unit_price is None else unit_price,
        )
    )


@transaction.atomic
def order_confirm(*, actor: Actor, order: Order) -> Order:
    """draft -> confirmed: plans one or more batches per line (split by max batch size)."""
    require_permission(actor, "orders.manage")
    order = lock(actor, order)
    lines = list(order.lines.select_related("product").order_by("id"))
    if order.status == S.DRAFT and not lines:
        raise ApplicationError(f"Order {order} has no lines; add what the customer ordered first.")
    order = change_status(
        actor=actor,
        instance=order,
        to=S.CONFIRMED,
        allowed_from={S.DRAFT},
        verb="order.confirmed",
        changes={"confirmed_at": timezone.now()},
    )
    for line in lines:
        batches_create_for_order_line(actor=actor, order_line=line)
    from mfapp.scheduling.services import schedule_run_request  # one edit, inside the function

    schedule_run_request(actor=actor, site=order.site, trigger="order_confirmed")
    return order


def order_mark_in_production(*, actor: Actor, order: Order) -> Order:
    """confirmed -> in production, when its first batch starts (called by production)."""
    order = lock(actor, order)
    if order.status != S.CONFIRMED:
        return order
    return change_status(
        actor=actor,
        instance=order,
        to=S.IN_PRODUCTION,
        allowed_from={S.CONFIRMED},
        verb="order.status_changed",
    )


def order_mark_ready_if_complete(*, actor: Actor, order: Order) -> Order:
    """-> ready once every batch of every line is completed (cancelled batches don't count)."""
    order = lock(actor, order)
    if order.status not in (S.CONFIRMED, S.IN_PRODUCTION):
        return order
    batches = Batch.objects.for_tenant(actor.tenant).filter(order_line__order=order)
    live = batches.exclude(status=Batch.Status.CANCELLED)
    if not live.exists() or live.exclude(status=Batch.Status.COMPLETED).exists():
        return order
    return change_status(
        actor=actor,
        instance=order,
        to=S.READY,
        allowed_from={S.CONFIRMED, S.IN_PRODUCTION},
        verb="order.status_changed",
    )


@transaction.atomic
def order_ship(*, actor: Actor, order: Order) -> Order:
    require_permission(actor, "orders.manage")
    order = lock(actor, order)
    return change_status(
        actor=actor,
        instance=order,
        to=S.SHIPPED,
        allowed_from={S.READY},
        verb="order.shipped",
        changes={"shipped_at": timezone.now()},
    )


@transaction.atomic
def order_cancel(*, actor: Actor, order: Order, reason: str = "") -> Order:
    """Cancelled from any state before shipped; open batches of the order are cancelled too."""
    require_permission(actor, "orders.manage")
    ensure_same_tenant(actor, order)
    order = lock(actor, order)
    order = change_status(
        actor=actor,
        instance=order,
        to=S.CANCELLED,
        allowed_from={S.DRAFT, S.CONFIRMED, S.IN_PRODUCTION, S.READY},
        verb="order.cancelled",
        changes={"cancelled_at": timezone.now()},
        message=reason,
    )
    open_batches = Batch.objects.for_tenant(actor.tenant).filter(
        order_line__order=order,
        status__in=[
            Batch.Status.PLANNED,
            Batch.Status.SCHEDULED,
            Batch.Status.IN_PROGRESS,
            Batch.Status.QUALITY_CHECK,
        ],
    )
    for batch in open_batches:
        batch_cancel(actor=actor, batch=batch, reason=f"Order {order} cancelled. {reason}".strip())
    return order


def customer_update(*, actor: Actor, customer: Customer, **fields: Any) -> Customer:
    return instance_update(
        actor=actor,
        instance=customer,
        fields=fields,
        allowed=CUSTOMER_FIELDS,
        permission="orders.manage",
    )


def customer_delete(*, actor: Actor, customer: Customer) -> None:
    instance_delete(actor=actor, instance=customer, permission="orders.manage")


def order_update(*, actor: Actor, order: Order, **fields: Any) -> Order:
    """Due date, priority and notes change while the order is open; the rest only in draft."""
    ensure_same_tenant(actor, order)
    allowed = {"due_date", "priority", "notes"}
    if order.status == S.DRAFT:
        allowed |= {"number", "external_ref"}
    elif not order.is_open:
        raise Conflict(f"Order {order} is {order.get_status_display().lower()}; it cannot change.")
    return instance_update(
        actor=actor, instance=order, fields=fields, allowed=allowed, permission="orders.manage"
    )


def order_delete(*, actor: Actor, order: Order) -> None:
    """Drafts only: anything confirmed has batches and history; cancel it instead."""
    ensure_same_tenant(actor, order)
    if order.status != S.DRAFT:
        raise Conflict(f"Order {order} is {order.get_status_display().lower()}; cancel it instead.")
    instance_delete(actor=actor, instance=order, permission="orders.manage")
