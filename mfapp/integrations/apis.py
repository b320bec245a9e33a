import django_filters
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mfapp.core.api import IdFilter, TenantFilterSet, TenantViewSet
from mfapp.integrations.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mfapp.integrations.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from mfapp.integrations.services import (
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)


class WebhookEndpointOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        exclude = ("tenant", "secret")


class WebhookEndpointWithSecret(WebhookEndpointOutput):
    """Only the answers to create and rotate-secret carry the secret: whoever can read the
    endpoints (a viewer, a read-only key) must not be able to forge deliveries."""

    secret = serializers.CharField(
        read_only=True, help_text="Signs every delivery; verify X-Mfapp-Signature with it."
    )

    class Meta(WebhookEndpointOutput.Meta):
        exclude = ("tenant",)


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1
    )
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookEndpointViewSet(TenantViewSet):
    """Where your events go. Each endpoint has its own signing secret."""

    output_serializer = WebhookEndpointOutput
    input_serializer = WebhookEndpointInput
    output_serializers_by_action = {
        "create": WebhookEndpointWithSecret,
        "rotate_secret": WebhookEndpointWithSecret,
    }
    filterset_class = TenantFilterSet
    ordering_fields = ["id", "created_at", "updated_at"]

    def tenant_queryset(self):
        return webhook_endpoint_list(tenant=self.tenant)

    def get_object(self):
        return webhook_endpoint_get(tenant=self.tenant, endpoint_id=self.kwargs["pk"])

    def create(self, request: Request) -> Response:
        endpoint = webhook_endpoint_create(actor=self.actor, **self.validated())
        return Response(WebhookEndpointWithSecret(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        data = self.validated(partial=True)
        endpoint = webhook_endpoint_update(actor=self.actor, endpoint=self.get_object(), **data)
        return self.respond(endpoint)

    def destroy(self, request: Request, pk: int) -> Response:
        webhook_endpoint_delete(actor=self.actor, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: int) -> Response:
        """A new signing secret; the old one stops working at once."""
        endpoint = webhook_endpoint_rotate_secret(actor=self.actor, endpoint=self.get_object())
        return Response(WebhookEndpointWithSecret(endpoint).data)


class WebhookAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = (
            "number",
            "created_at",
            "response_status",
            "response_body",
            "error",
            "duration_ms",
        )


class WebhookDeliveryOutput(serializers.ModelSerializer):
    attempts = WebhookAttemptOutput(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        exclude = ("tenant",)


class WebhookDeliveryFilter(TenantFilterSet):
    endpoint = IdFilter(field_name="endpoint_id")
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_type = django_filters.ChoiceFilter(choices=EventType.choices)


class WebhookDeliveryViewSet(TenantViewSet):
    """Every event sent to your endpoints, with each attempt and the answer it got."""

    output_serializer = WebhookDeliveryOutput
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at", "id"]
    http_method_names = ["get", "post", "head", "options"]

    def tenant_queryset(self):
        return webhook_delivery_list(tenant=self.tenant)

    def get_object(self):
        return webhook_delivery_get(tenant_id=self.tenant.pk, delivery_id=self.kwargs["pk"])

    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: int) -> Response:
        """Send a finished delivery again."""
        delivery = webhook_delivery_redeliver(actor=self.actor, delivery=self.get_object())
        return self.respond(webhook_delivery_get(tenant_id=self.tenant.pk, delivery_id=delivery.pk))
