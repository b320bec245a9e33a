import uuid

from django.db import models
from django.utils import timezone

from mfapp.core.models import TenantScopedModel


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created", "Order created"
    ORDER_STATUS_CHANGED = "order.status_changed", "Order status changed"
    BATCH_STATUS_CHANGED = "batch.status_changed", "Batch status changed"
    SCHEDULE_COMPLETED = "schedule.completed", "Schedule run completed"
    REPORT_READY = "report.ready", "Sustainability report ready"


class WebhookEndpoint(TenantScopedModel):
    """Where a tenant wants events sent. The secret signs every delivery (HMAC-SHA256); it is
    kept readable because signing needs it."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80, editable=False)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantScopedModel):
    """One event for one endpoint, with every attempt to send it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["tenant", "endpoint", "-created_at"], name="delivery_endpoint_idx"
            ),
            models.Index(fields=["tenant", "status"], name="delivery_status_idx"),
            models.Index(fields=["tenant", "-created_at"], name="delivery_recent_idx"),
            models.Index(fields=["tenant", "updated_at"], name="delivery_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"

    @property
    def can_redeliver(self) -> bool:
        """Finished, or pending with its next attempt overdue (no worker picked it up)."""
        if self.status != self.Status.PENDING:
            return True
        return self.next_attempt_at is not None and self.next_attempt_at <= timezone.now()


class WebhookAttempt(TenantScopedModel):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The first 2,000 characters.")
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "delivery", "number"],
                name="webhook_attempt_unique_number",
                violation_error_message="This attempt is recorded already.",
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class IdempotencyRecord(TenantScopedModel):
    """The first answer to a POST sent with an Idempotency-Key, replayed for retries."""

    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveIntegerField(null=True, blank=True)  # null: in progress
    response_body = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"],
                name="idempotency_unique_key",
                violation_error_message="This Idempotency-Key is in use.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
