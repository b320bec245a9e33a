"""Domain events that go out as webhooks. Imported by the status transitions, so it depends
on models only."""

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from mfapp.core.serialization import jsonable
from mfapp.integrations.models import EventType, WebhookDelivery, WebhookEndpoint
from mfapp.tenancy.models import Tenant


def webhook_event_publish(*, tenant: Tenant, event_type: str, data: dict[str, Any]) -> int:
    """One delivery per subscribed active endpoint, sent by a worker after the commit.
    Returns the number of deliveries queued."""
    endpoints = WebhookEndpoint.objects.for_tenant(tenant).filter(is_active=True)
    subscribed = [e for e in endpoints if event_type in e.event_types]
    if not subscribed:
        return 0
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            tenant=tenant,
            endpoint=endpoint,
            event_type=event_type,
            payload={
                "type": event_type,
                "created_at": now.isoformat(),
                "tenant": tenant.slug,
                "data": data,
            },
            next_attempt_at=now,
        )
        for endpoint in subscribed
    )
    from mfapp.integrations.tasks import webhook_deliver as webhook_deliver_task  # task→service

    for delivery in deliveries:
        transaction.on_commit(
            lambda d=delivery: webhook_deliver_task.delay(tenant_id=tenant.pk, delivery_id=d.pk)
        )
    return len(deliveries)


# Which status changes are announced, and what their payload says.
ORDER_EVENT_FIELDS = (
    "id",
    "number",
    "status",
    "external_ref",
    "due_date",
    "priority",
    "customer_id",
    "site_id",
)
_STATUS_EVENTS = {
    "orders.order": (EventType.ORDER_STATUS_CHANGED, ORDER_EVENT_FIELDS),
    "production.batch": (
        EventType.BATCH_STATUS_CHANGED,
        (
            "id",
            "lot_code",
            "status",
            "product_id",
            "site_id",
            "order_line_id",
            "quantity_planned",
            "quantity_good",
            "quantity_scrap",
        ),
    ),
}


def event_data(instance: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: jsonable(getattr(instance, name)) for name in fields}


def webhook_status_changed(*, instance: models.Model, previous_status: str) -> None:
    """Called by every status transition; announces the ones integrations subscribe to."""
    event = _STATUS_EVENTS.get(instance._meta.label_lower)
    if event is None:
        return
    event_type, fields = event
    data = {**event_data(instance, fields), "previous_status": previous_status}
    webhook_event_publish(tenant=instance.tenant, event_type=event_type, data=data)
