"""Webhooks: endpoints through the API, signed deliveries to a real local HTTP server, retries
with backoff by a real Celery worker, every attempt recorded."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from mfapp.core.exceptions import ApplicationError
from mfapp.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mfapp.integrations.signing import sign, verify
from mfapp.integrations.ssrf import check_webhook_target
from mfapp.orders.services import order_confirm
from mfapp.tenancy.services import api_key_create
from tests.factories import order_with_lines, product_with_routing


class Receiver:
    """A local HTTP server answering each POST with the next status of `statuses`."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                if status == "timeout":
                    time.sleep(3)
                    status = 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        made.append(Receiver(statuses or (200,)))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def api(system):
    _, raw = api_key_create(actor=system, name="integration")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)  # gentle polling: the worker shares the database
    return False


# --- signing ---------------------------------------------------------------------------------
def test_signature_verifies_only_the_exact_body_secret_and_a_recent_time():
    body = b'{"type": "order.created"}'
    header = sign(secret="whsec_a", body=body, timestamp=1_700_000_000)

    assert verify(secret="whsec_a", body=body, header=header, now=1_700_000_100)
    assert not verify(secret="whsec_b", body=body, header=header, now=1_700_000_100)
    assert not verify(secret="whsec_a", body=body + b" ", header=header, now=1_700_000_100)
    assert not verify(secret="whsec_a", body=body, header=header, now=1_700_000_000 + 301)
    assert not verify(secret="whsec_a", body=body, header="garbage", now=1_700_000_000)


# --- SSRF guard ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://example.com/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ],
)
def test_production_refuses_private_targets_plain_http_and_credentials(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    with pytest.raises(ApplicationError) as exc_info:
        check_webhook_target(url)

    assert list(exc_info.value.extra["fields"]) == ["url"]


def test_production_accepts_a_public_https_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    check_webhook_target("https://93.184.215.14/hook")  # a public literal: no DNS needed


def test_api_refuses_a_private_endpoint_in_production_and_creates_nothing(api, tenant, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = api.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://10.0.0.5/hook", "event_types": ["order.created"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["extra"] == {"fields": {"url": ["Not a public address."]}}
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


# --- endpoints through the API ---------------------------------------------------------------
def test_endpoint_lifecycle_through_the_api(api, tenant):
    created = api.post(
        "/api/v1/webhook-endpoints/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["order.created", "order.created"]},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["event_types"] == ["order.created"]
    assert body["secret"].startswith("whsec_")
    endpoint_id = body["id"]

    patched = api.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}/", {"is_active": False}, format="json"
    )
    rotated = api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret/")

    assert patched.json()["is_active"] is False
    assert rotated.json()["secret"] not in ("", body["secret"])
    assert api.delete(f"/api/v1/webhook-endpoints/{endpoint_id}/").status_code == 204
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


def test_unknown_event_types_are_refused(api, tenant):
    response = api.post(
        "/api/v1/webhook-endpoints/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["order.deleted"]},
        format="json",
    )

    assert response.status_code == 400
    assert "event_types" in response.json()["extra"]["fields"]
    assert WebhookEndpoint.objects.for_tenant(tenant).count() == 0


def test_another_tenants_endpoint_is_not_found_and_unchanged(api, other_tenant):
    from mfapp.integrations.services import webhook_endpoint_create
    from mfapp.tenancy.selectors import system_actor

    foreign = webhook_endpoint_create(
        actor=system_actor(tenant=other_tenant),
        url="http://127.0.0.1:9/x",
        event_types=["order.created"],
    )

    responses = [
        api.get(f"/api/v1/webhook-endpoints/{foreign.pk}/"),
        api.patch(
            f"/api/v1/webhook-endpoints/{foreign.pk}/",
            {"url": "http://127.0.0.1:1/y"},
            format="json",
        ),
        api.post(f"/api/v1/webhook-endpoints/{foreign.pk}/rotate-secret/"),
        api.delete(f"/api/v1/webhook-endpoints/{foreign.pk}/"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert {r.json()["message"] for r in responses} == {"Webhook endpoint not found."}
    assert WebhookEndpoint.objects.for_tenant(other_tenant).get().secret == foreign.secret


# --- delivery (eager in-process run) -----------------------------------------------------------
def _subscribe(
    tenant, url, events=("order.created", "order.status_changed", "batch.status_changed")
):
    from mfapp.integrations.services import webhook_endpoint_create
    from mfapp.tenancy.selectors import system_actor

    return webhook_endpoint_create(
        actor=system_actor(tenant=tenant), url=url, event_types=list(events)
    )


def _signed_ok(endpoint, headers, body):
    return verify(secret=endpoint.secret, body=body, header=headers["X-Mfapp-Signature"])


@pytest.mark.django_db(transaction=True)
def test_a_status_change_is_delivered_signed_after_commit(
    eager_tasks, tenant, system, receiver, settings
):
    hook = receiver(200)
    endpoint = _subscribe(tenant, hook.url)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])

    order_confirm(actor=system, order=order)

    [(headers, body)] = hook.requests
    event = json.loads(body)
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert event == {
        "id": str(delivery.event_id),
        "type": "order.status_changed",
        "created_at": event["created_at"],
        "tenant": tenant.slug,
        "data": {
            "id": order.pk,
            "number": order.number,
            "status": "confirmed",
            "previous_status": "draft",
            "external_ref": order.external_ref,
            "due_date": str(order.due_date),
            "priority": order.priority,
            "customer_id": order.customer_id,
            "site_id": order.site_id,
        },
    }
    assert _signed_ok(endpoint, headers, body)
    assert (headers["X-Mfapp-Event"], headers["X-Mfapp-Delivery"]) == (
        "order.status_changed",
        str(delivery.event_id),
    )
    assert (delivery.status, delivery.attempt_count, delivery.last_response_status) == (
        "succeeded",
        1,
        200,
    )
    [attempt] = WebhookAttempt.objects.for_tenant(tenant)
    assert (attempt.number, attempt.response_status, attempt.error) == (1, 200, "")


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_when_the_transaction_rolls_back(
    eager_tasks, tenant, system, receiver, settings
):
    from django.db import transaction

    hook = receiver(200)
    _subscribe(tenant, hook.url)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])

    def confirm_then_fail():
        with transaction.atomic():
            order_confirm(actor=system, order=order)
            raise RuntimeError("something later in the same transaction failed")

    with pytest.raises(RuntimeError):
        confirm_then_fail()

    assert hook.requests == []
    assert WebhookDelivery.objects.for_tenant(tenant).count() == 0


@pytest.mark.django_db(transaction=True)
def test_order_created_through_the_api_is_announced(eager_tasks, api, tenant, receiver, settings):
    from tests.factories import CustomerFactory, SiteFactory

    hook = receiver(200)
    endpoint = _subscribe(tenant, hook.url, events=("order.created",))
    customer, site = CustomerFactory(tenant=tenant), SiteFactory(tenant=tenant)
    from mfapp.orders.services import order_create
    from mfapp.tenancy.selectors import system_actor

    order = order_create(
        actor=system_actor(tenant=tenant),
        customer_id=customer.pk,
        site_id=site.pk,
        due_date="2030-01-31",
        external_ref="shop-1001",
    )

    [(headers, body)] = hook.requests
    assert json.loads(body)["data"]["number"] == order.number
    assert json.loads(body)["data"]["external_ref"] == "shop-1001"
    assert _signed_ok(endpoint, headers, body)


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_failed_delivery_waits_for_its_next_attempt(
    eager_tasks, tenant, system, receiver, settings
):
    hook = receiver(503)
    _subscribe(tenant, hook.url)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])

    order_confirm(actor=system, order=order)

    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert (delivery.status, delivery.attempt_count, delivery.last_response_status) == (
        "pending",
        1,
        503,
    )
    assert delivery.next_attempt_at is not None
    assert len(hook.requests) == 1


# --- retries on a real worker ------------------------------------------------------------------
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_errors_and_timeouts_are_retried_with_backoff_until_delivered(
    tenant, system, receiver, celery_worker
):
    hook = receiver(500, "timeout", 200)
    endpoint = _subscribe(tenant, hook.url)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])

    order_confirm(actor=system, order=order)

    def delivered():
        return WebhookDelivery.objects.for_tenant(tenant).filter(status="succeeded").exists()

    assert _wait_for(delivered)
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    attempts = list(WebhookAttempt.objects.for_tenant(tenant).order_by("number"))
    assert [(a.number, a.response_status) for a in attempts] == [(1, 500), (2, None), (3, 200)]
    assert attempts[1].error.startswith(("TimeoutError", "timeout"))
    assert delivery.attempt_count == 3
    assert len({body for _, body in hook.requests}) == 1  # the same event each time
    assert all(_signed_ok(endpoint, h, b) for h, b in hook.requests)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_delivery_fails_after_the_last_attempt(tenant, system, receiver, celery_worker, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3  # read by the in-thread worker; the subprocess has 8
    hook = receiver(500)
    _subscribe(tenant, hook.url)
    order = order_with_lines(tenant, [(product_with_routing(tenant), 3)])

    order_confirm(actor=system, order=order)

    def failed():
        return WebhookDelivery.objects.for_tenant(tenant).filter(status="failed").exists()

    assert _wait_for(failed)
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()
    assert delivery.attempt_count in (3, 8)
    assert WebhookAttempt.objects.for_tenant(tenant).count() == delivery.attempt_count


# --- the delivery log through the API ----------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_deliveries_and_attempts_are_visible_and_can_be_redelivered(
    eager_tasks, api, tenant, system, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    hook = receiver(500, 200)
    _subscribe(tenant, hook.url)
    order_confirm(actor=system, order=order_with_lines(tenant, [(product_with_routing(tenant), 2)]))
    delivery = WebhookDelivery.objects.for_tenant(tenant).get()

    listed = api.get("/api/v1/webhook-deliveries/", {"status": "failed"}).json()
    redelivered = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")

    assert [d["id"] for d in listed["results"]] == [delivery.pk]
    assert [a["response_status"] for a in listed["results"][0]["attempts"]] == [500]
    assert redelivered.status_code == 200
    assert redelivered.json()["status"] == "succeeded"
    # the earlier round stays in the log; numbering goes on
    assert [(a["number"], a["response_status"]) for a in redelivered.json()["attempts"]] == [
        (1, 500),
        (2, 200),
    ]
    assert api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/").status_code == 200


def test_a_pending_delivery_can_be_sent_again_once_its_attempt_is_overdue(api, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import WebhookDeliveryFactory

    waiting = WebhookDeliveryFactory(
        tenant=tenant, status="pending", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    overdue = WebhookDeliveryFactory(
        tenant=tenant, status="pending", next_attempt_at=timezone.now() - timedelta(minutes=1)
    )

    refused = api.post(f"/api/v1/webhook-deliveries/{waiting.pk}/redeliver/")
    accepted = api.post(f"/api/v1/webhook-deliveries/{overdue.pk}/redeliver/")

    assert (refused.status_code, refused.json()["message"]) == (
        409,
        "This delivery is still being attempted.",
    )
    assert accepted.status_code == 200


def test_secrets_are_only_in_the_answers_to_create_and_rotate(tenant, system):
    from mfapp.tenancy.services import api_key_create as make_key

    _, raw = make_key(actor=system, name="reader", read_only=True)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    endpoint = _subscribe(tenant, "http://127.0.0.1:9/x")

    listed = reader.get("/api/v1/webhook-endpoints/").json()["results"]
    detail = reader.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/").json()

    assert "secret" not in listed[0]
    assert "secret" not in detail


def test_another_tenants_deliveries_are_invisible(api, other_tenant):
    from tests.factories import TenantFactory  # noqa: F401 - keeps the import list explicit

    endpoint = _subscribe(other_tenant, "http://127.0.0.1:9/x")
    foreign = WebhookDelivery.objects.create(
        tenant=other_tenant, endpoint=endpoint, event_type="order.created", payload={}
    )

    assert api.get("/api/v1/webhook-deliveries/").json()["count"] == 0
    assert api.get(f"/api/v1/webhook-deliveries/{foreign.pk}/").status_code == 404
    assert api.post(f"/api/v1/webhook-deliveries/{foreign.pk}/redeliver/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "pending"


# --- PostgreSQL: a delivery in flight locks its own row only ---------------------------------
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_delivery_in_flight_leaves_the_tenant_and_endpoint_rows_unlocked(tenant, receiver):
    """The HTTP call runs while the delivery row is locked (one sender at a time); the
    tenant's and endpoint's rows stay free, so other writes of the tenant go on meanwhile."""
    import contextvars

    import psycopg
    from django.db import connection

    from mfapp.integrations.services import webhook_delivery_attempt
    from tests.conftest import APP_ROLE
    from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

    slow = receiver("timeout")  # answers after 3 s: past the 2 s timeout, a retry is due
    endpoint = WebhookEndpointFactory(tenant=tenant, url=slow.url)
    delivery = WebhookDeliveryFactory(tenant=tenant, endpoint=endpoint)
    sending = threading.Thread(
        target=contextvars.copy_context().run,
        args=(lambda: (webhook_delivery_attempt(delivery=delivery), connection.close()),),
    )
    sending.start()
    assert _wait_for(lambda: slow.requests, timeout=10)  # the request is in flight
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=APP_ROLE, host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432
    ) as other:
        other.execute("SET lock_timeout = '500ms'")
        other.execute("SELECT set_config('mfapp.tenant_id', %s, true)", [str(tenant.pk)])
        for table, pk in (
            ("tenancy_tenant", tenant.pk),
            ("integrations_webhookendpoint", endpoint.pk),
        ):
            other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute(
                "SELECT 1 FROM integrations_webhookdelivery WHERE id = %s FOR UPDATE",
                [delivery.pk],
            )
    sending.join(timeout=30)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == (WebhookDelivery.Status.PENDING, 1)
