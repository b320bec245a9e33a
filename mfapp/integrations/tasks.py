from celery import shared_task

from mfapp.core.tasks import TRANSIENT_RETRY
from mfapp.integrations.models import WebhookDelivery


@shared_task(
    name="mfapp.integrations.webhook_deliver",
    bind=True,
    acks_late=True,
    # One HTTP attempt (WEBHOOK_TIMEOUT_SECONDS, 10 s) and two small transactions.
    soft_time_limit=60,
    time_limit=90,
    # A busy or restarting database or broker is transient: try again. HTTP failures are
    # handled by the delivery's own backoff below, never by an exception.
    **TRANSIENT_RETRY,
)
def webhook_deliver(self, *, tenant_id: int, delivery_id: int) -> str:
    """Attempt a delivery; schedule the next attempt with backoff while it is pending.
    Running it twice is harmless: a delivery that succeeded is not sent again."""
    from mfapp.integrations.selectors import webhook_delivery_get
    from mfapp.integrations.services import webhook_delivery_attempt, webhook_retry_delay

    delivery = webhook_delivery_attempt(
        delivery=webhook_delivery_get(tenant_id=tenant_id, delivery_id=delivery_id)
    )
    if delivery.status == WebhookDelivery.Status.PENDING and not self.request.is_eager:
        # In-process (eager) mode has no worker to wait for a countdown: the delivery stays
        # pending with its next attempt time, visible in the delivery log.
        self.apply_async(
            kwargs={"tenant_id": tenant_id, "delivery_id": delivery_id},
            countdown=webhook_retry_delay(delivery.attempt_count),
        )
    return delivery.status


@shared_task(name="mfapp.integrations.idempotency_records_purge", **TRANSIENT_RETRY)
def idempotency_records_purge() -> int:
    from mfapp.integrations.services import idempotency_records_purge as purge

    return purge()


@shared_task(name="mfapp.integrations.webhook_deliveries_resume", **TRANSIENT_RETRY)
def webhook_deliveries_resume() -> int:
    from mfapp.integrations.services import webhook_deliveries_resume as resume

    return resume()
