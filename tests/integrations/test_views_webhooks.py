"""The webhooks pages: owners and managers register endpoints and read the delivery log."""

import pytest
from django.urls import reverse

from mfapp.integrations.models import WebhookAttempt, WebhookEndpoint
from tests.factories import (
    MembershipFactory,
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db
LIST = reverse("webhook-endpoint-list")


def _login(client, tenant, role):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_register_an_endpoint(client, tenant, role):
    _login(client, tenant, role)

    response = client.post(
        LIST,
        {
            "url": "http://127.0.0.1:9/hooks",
            "description": "Shop",
            "event_types": ["order.created"],
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.for_tenant(tenant).get()
    assert response.redirect_chain == [
        (reverse("webhook-endpoint-detail", args=[endpoint.pk]), 302)
    ]
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "http://127.0.0.1:9/hooks",
        "Shop",
        ["order.created"],
    )
    assert endpoint.secret in response.content.decode()  # shown right after creation


def test_invalid_input_shows_errors_and_saves_nothing(client, tenant):
    _login(client, tenant, "owner")

    response = client.post(LIST, {"url": "not a url", "event_types": []})

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "url": ["Enter a valid URL."],
        "event_types": ["This field is required."],
    }
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


def test_a_private_target_is_refused_in_production(client, tenant, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    _login(client, tenant, "owner")

    response = client.post(LIST, {"url": "https://10.0.0.1/x", "event_types": ["order.created"]})

    assert response.status_code == 400
    assert response.context["form"].errors["url"] == ["Not a public address."]
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_get_403_and_nothing_changes(client, tenant, role):
    _login(client, tenant, role)
    endpoint = WebhookEndpointFactory(tenant=tenant)

    responses = [
        client.get(LIST),
        client.post(LIST, {"url": "http://127.0.0.1:9/x", "event_types": ["order.created"]}),
        client.post(reverse("webhook-endpoint-action", args=[endpoint.pk, "delete"])),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert list(WebhookEndpoint.objects.for_tenant(tenant).values_list("pk", flat=True)) == [
        endpoint.pk
    ]


def test_another_tenants_endpoint_is_a_404_and_unchanged(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = WebhookEndpointFactory(tenant=other_tenant)
    delivery = WebhookDeliveryFactory(tenant=other_tenant, endpoint=foreign, status="failed")

    responses = [
        client.get(reverse("webhook-endpoint-detail", args=[foreign.pk])),
        client.post(reverse("webhook-endpoint-action", args=[foreign.pk, "toggle"])),
        client.post(reverse("webhook-endpoint-action", args=[foreign.pk, "rotate"])),
        client.post(reverse("webhook-endpoint-action", args=[foreign.pk, "delete"])),
        client.post(reverse("webhook-delivery-redeliver", args=[delivery.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    foreign_now = WebhookEndpoint.objects.for_tenant(other_tenant).get()
    assert (foreign_now.is_active, foreign_now.secret) == (True, foreign.secret)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_pause_rotate_and_delete(client, tenant):
    _login(client, tenant, "manager")
    endpoint = WebhookEndpointFactory(tenant=tenant)

    client.post(reverse("webhook-endpoint-action", args=[endpoint.pk, "toggle"]))
    paused = WebhookEndpoint.objects.for_tenant(tenant).get()
    client.post(reverse("webhook-endpoint-action", args=[endpoint.pk, "rotate"]))
    rotated = WebhookEndpoint.objects.for_tenant(tenant).get()
    response = client.post(reverse("webhook-endpoint-action", args=[endpoint.pk, "delete"]))

    assert paused.is_active is False
    assert rotated.secret != endpoint.secret
    assert response["Location"] == LIST
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


def test_the_delivery_log_shows_every_attempt(client, tenant):
    _login(client, tenant, "owner")
    endpoint = WebhookEndpointFactory(tenant=tenant)
    delivery = WebhookDeliveryFactory(tenant=tenant, endpoint=endpoint, status="failed")
    WebhookAttemptFactory(tenant=tenant, delivery=delivery, number=1, response_status=500)
    WebhookAttemptFactory(
        tenant=tenant,
        delivery=delivery,
        number=2,
        response_status=None,
        error="TimeoutError: timed out",
    )

    response = client.get(reverse("webhook-endpoint-detail", args=[endpoint.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert str(delivery.event_id) in html
    assert "HTTP 500" in html
    assert "TimeoutError: timed out" in html
    assert "Send again" in html
    assert WebhookAttempt.objects.for_tenant(tenant).count() == 2


def test_list_page_has_an_empty_state(client, tenant):
    _login(client, tenant, "owner")

    response = client.get(LIST)

    assert response.status_code == 200
    assert "No endpoints yet." in response.content.decode()
