"""Outgoing webhooks and idempotent API writes."""

import hashlib
import json
import secrets
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core import rls
from mfapp.core.crud import instance_delete, instance_update
from mfapp.core.exceptions import ApplicationError, Conflict
from mfapp.core.transitions import lock
from mfapp.core.validation import clean_and_save
from mfapp.integrations.models import (
    EventType,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from mfapp.integrations.signing import SIGNATURE_HEADER, sign
from mfapp.integrations.ssrf import check_webhook_target
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Tenant
from mfapp.tenancy.permissions import require_permission

D = WebhookDelivery.Status


# --- endpoints -------------------------------------------------------------------------------
def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown or not event_types:
        raise ApplicationError(
            f"Choose event types among: {', '.join(EventType.values)}.",
            {
                "fields": {
                    "event_types": [f"Unknown: {', '.join(unknown)}" if unknown else "Required."]
                }
            },
        )
    return sorted(set(event_types))


@transaction.atomic
def webhook_endpoint_create(
    *, actor: Actor, url: str, event_types: list[str], description: str = "", is_active: bool = True
) -> WebhookEndpoint:
    require_permission(actor, "webhooks.manage")
    check_webhook_target(url)
    endpoint = clean_and_save(
        WebhookEndpoint(
            tenant=actor.tenant,
            url=url,
            description=description,
            event_types=_clean_event_types(event_types),
            is_active=is_active,
            secret=f"whsec_{secrets.token_urlsafe(32)}",
        )
    )
    audit_record(
        actor=actor,
        verb="webhook_endpoint.created",
        target=endpoint,
        after={"url": url, "event_types": endpoint.event_types},
    )
    return endpoint


def webhook_endpoint_update(
    *, actor: Actor, endpoint: WebhookEndpoint, **fields: Any
) -> WebhookEndpoint:
    if "url" in fields:
        check_webhook_target(fields["url"])
    if "event_types" in fields:
        fields["event_types"] = _clean_event_types(fields["event_types"])
    return instance_update(
        actor=actor,
        instance=endpoint,
        fields=fields,
        allowed={"url", "description", "event_types", "is_active"},
        permission="webhooks.manage",
    )


@transaction.atomic
def webhook_endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    require_permission(actor, "webhooks.manage")
    endpoint = lock(actor, endpoint)
    endpoint.secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_record(actor=actor, verb="webhook_endpoint.secret_rotated", target=endpoint)
    return endpoint


def webhook_endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    instance_delete(actor=actor, instance=endpoint, permission="webhooks.manage")


# --- delivery --------------------------------------------------------------------------------
class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead into our own network: treat it as the answer, never follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """(status, body excerpt, error). Network errors and time-outs are an error, not a crash."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, response.read(2000).decode(errors="replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode(errors="replace"), ""
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, "", f"{type(reason).__name__}: {reason}"


def webhook_retry_delay(attempt_count: int) -> float:
    """Exponential backoff: base, 2 x base, 4 x base ... capped at six hours."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt_count - 1), 6 * 3600)


def webhook_delivery_attempt(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send once and record the attempt. Returns the delivery: succeeded, pending with its
    next attempt time, or failed after the last attempt. A succeeded delivery is not resent."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.for_tenant(delivery.tenant_id)
            # The delivery row alone: locking the tenant and endpoint rows for the length of
            # the HTTP call would hold up every commit that checks a foreign key to them.
            .select_for_update(of=("self",))
            .select_related("endpoint", "tenant")
            .get(pk=delivery.pk)
        )
        if delivery.status != D.PENDING:
            return delivery
        round_attempt = delivery.attempt_count + 1
        number = delivery.attempts.count() + 1  # numbering goes on across redeliveries
        endpoint = delivery.endpoint
        body = json.dumps({"id": str(delivery.event_id), **delivery.payload}).encode()
        started = time.monotonic()
        try:
            check_webhook_target(endpoint.url)
            status, excerpt, error = _post(
                endpoint.url,
                body,
                {
                    "Content-Type": "application/json",
                    "User-Agent": "mfapp-webhooks/1",
                    "X-Mfapp-Event": delivery.event_type,
                    "X-Mfapp-Delivery": str(delivery.event_id),
                    SIGNATURE_HEADER: sign(secret=endpoint.secret, body=body),
                },
            )
        except ApplicationError as exc:
            status, excerpt, error = None, "", exc.message
        WebhookAttempt.objects.create(
            tenant=delivery.tenant,
            delivery=delivery,
            number=number,
            response_status=status,
            response_body=excerpt,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempt_count = round_attempt
        delivery.last_response_status = status
        delivery.last_error = error or ("" if status and 200 <= status < 300 else excerpt[:500])
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                D.SUCCEEDED,
                timezone.now(),
                None,
            )
        elif round_attempt >= settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.is_active:
            delivery.status, delivery.next_attempt_at = D.FAILED, None
        else:
            delivery.next_attempt_at = timezone.now() + timedelta(
                seconds=webhook_retry_delay(round_attempt)
            )
        delivery.save()
        return delivery


@transaction.atomic
def webhook_delivery_redeliver(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now: a finished one (a new round of attempts, earlier attempts
    kept in the log) or a pending one whose next attempt is overdue (no worker picked it up)."""
    require_permission(actor, "webhooks.manage")
    delivery = lock(actor, delivery)
    if not delivery.can_redeliver:
        raise Conflict("This delivery is still being attempted.")
    before = {"status": delivery.status, "attempt_count": delivery.attempt_count}
    delivery.status, delivery.attempt_count = D.PENDING, 0
    delivery.next_attempt_at, delivery.delivered_at = timezone.now(), None
    delivery.save(
        update_fields=["status", "attempt_count", "next_attempt_at", "delivered_at", "updated_at"]
    )
    audit_record(
        actor=actor,
        verb="webhook_delivery.redelivered",
        target=delivery,
        before=before,
        after={"status": delivery.status, "attempt_count": 0},
    )
    _enqueue_delivery(delivery)
    return delivery


def _enqueue_delivery(delivery: WebhookDelivery) -> None:
    from mfapp.integrations.tasks import webhook_deliver as webhook_deliver_task  # task→service

    transaction.on_commit(
        lambda: webhook_deliver_task.delay(tenant_id=delivery.tenant_id, delivery_id=delivery.pk)
    )


def webhook_deliveries_resume() -> int:
    """Platform job: queue pending deliveries whose next attempt is more than five minutes
    overdue (a lost broker message, a worker restart). Sending twice is harmless."""
    with rls.platform_access(reason="resume overdue webhook deliveries"):
        overdue = list(
            WebhookDelivery.objects.all_tenants()
            .filter(status=D.PENDING, next_attempt_at__lte=timezone.now() - timedelta(minutes=5))
            .only("pk", "tenant_id")
        )
    for delivery in overdue:
        _enqueue_delivery(delivery)
    return len(overdue)


# --- idempotency -----------------------------------------------------------------------------
def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def idempotency_begin(
    *, tenant: Tenant, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """(record, is_new). A new record marks the request in progress; an existing one holds the
    first answer. Raises Conflict while the first request runs, ApplicationError when the key
    was used for a different request."""
    if not 1 <= len(key) <= 255:
        raise ApplicationError("An Idempotency-Key has 1 to 255 characters.")
    now = timezone.now()
    records = IdempotencyRecord.objects.for_tenant(tenant)
    records.filter(key=key, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant=tenant,
                key=key,
                method=method,
                path=path,
                request_hash=fingerprint,
                expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
            )
            return record, True
    except IntegrityError:
        record = records.get(key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    if record.response_status is None:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
    return record, False


class IdempotencyKeyReused(ApplicationError):
    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used for a different request.")


def idempotency_finish(*, record: IdempotencyRecord, status: int, body: Any) -> None:
    """Keep the answer for retries; a server error frees the key so a retry runs again."""
    records = IdempotencyRecord.objects.for_tenant(record.tenant_id).filter(pk=record.pk)
    if status >= 500:
        records.delete()
    else:
        records.update(response_status=status, response_body=body)


def idempotency_abandon(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.for_tenant(record.tenant_id).filter(
        pk=record.pk, response_status__isnull=True
    ).delete()


def idempotency_records_purge() -> int:
    """Platform job: drop expired records of every tenant."""
    with rls.platform_access(reason="purge expired idempotency records"):
        deleted, _ = (
            IdempotencyRecord.objects.all_tenants().filter(expires_at__lte=timezone.now()).delete()
        )
    return deleted
