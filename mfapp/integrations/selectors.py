from django.db.models import Prefetch, QuerySet

from mfapp.core.exceptions import NotFound
from mfapp.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mfapp.tenancy.models import Tenant


def webhook_endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant).order_by("id")


def webhook_endpoint_get(*, tenant: Tenant, endpoint_id: int) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.for_tenant(tenant).get(pk=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError):
        raise NotFound("Webhook endpoint not found.") from None


def webhook_delivery_list(
    *, tenant: Tenant | int, endpoint_id: int | None = None
) -> QuerySet[WebhookDelivery]:
    attempts = WebhookAttempt.objects.for_tenant(tenant).order_by("number")
    qs = (
        WebhookDelivery.objects.for_tenant(tenant)
        .prefetch_related(Prefetch("attempts", queryset=attempts))
        .order_by("-created_at", "-id")
    )
    return qs.filter(endpoint_id=endpoint_id) if endpoint_id is not None else qs


def webhook_delivery_get(*, tenant_id: int, delivery_id: int) -> WebhookDelivery:
    try:
        return webhook_delivery_list(tenant=tenant_id).get(pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise NotFound("Webhook delivery not found.") from None
